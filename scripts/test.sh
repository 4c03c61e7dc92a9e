#!/usr/bin/env bash
# The whole test suite, with what it needs: a throwaway PostgreSQL 15 on a loopback port and
# Debian's Chromium for the browser tests. Usage: scripts/test.sh [go test flags/packages]
set -euo pipefail
cd "$(dirname "$0")/.."

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

need_root_for() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "test.sh: $1 is missing and installing it needs root" >&2
		exit 1
	fi
}

# Browser tests drive Debian's Chromium through the DevTools protocol.
if ! command -v chromium >/dev/null 2>&1; then
	need_root_for chromium
	echo "test.sh: installing chromium" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export PORTCULLIS_TEST_CHROMIUM=${PORTCULLIS_TEST_CHROMIUM:-$(command -v chromium)}

if [ ! -x "$PGBIN/initdb" ]; then
	need_root_for postgresql
	echo "test.sh: installing postgresql-15" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi

# PostgreSQL refuses to run as root: run it as the postgres user in a directory that user owns.
PGROOT=$(mktemp -d /tmp/portcullis-pg.XXXXXX)
chmod 755 "$PGROOT"
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$PGROOT"
fi
# A free loopback port: nothing answers a connect to it.
for _ in $(seq 1 50); do
	PGPORT=$((20000 + RANDOM % 30000))
	(exec 3<>"/dev/tcp/127.0.0.1/$PGPORT") 2>/dev/null || break
done

cleanup() {
	as_pg "$PGBIN/pg_ctl" -m fast -D "$PGROOT/data" stop >/dev/null 2>&1 || true
	rm -rf "$PGROOT"
}
trap cleanup EXIT

as_pg "$PGBIN/initdb" -A trust --no-sync -U postgres -D "$PGROOT/data" >"$PGROOT/initdb.log" 2>&1 ||
	{ cat "$PGROOT/initdb.log" >&2; exit 1; }
as_pg "$PGBIN/pg_ctl" -w -D "$PGROOT/data" -l "$PGROOT/server.log" \
	-o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGROOT -c fsync=off -c max_connections=300" start >/dev/null ||
	{ cat "$PGROOT/server.log" >&2; exit 1; }
export PORTCULLIS_TEST_POSTGRES="postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"
echo "test.sh: PostgreSQL on 127.0.0.1:$PGPORT, Chromium at $PORTCULLIS_TEST_CHROMIUM" >&2

if [ $# -eq 0 ]; then
	go test -count=1 -timeout 40m ./...
	# The benchmarks the performance targets are measured with run once each, so that a change
	# that breaks one (not a test) fails here rather than on the day someone measures.
	go test -count=1 -timeout 10m -run '^$' -bench . -benchtime 1x ./cmd/portcullis/
	exit
fi
go test -count=1 -timeout 40m "$@"
