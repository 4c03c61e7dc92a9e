package database_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// BenchmarkSQLitePrimitives measures what the statements a sign-in is made of cost on the
// embedded SQLite (the pure-Go driver), on one goroutine, so that every read finds its pages
// cached: a lower bound. docs/performance.md uses it to put a floor under the full sign-in
// (cmd/portcullis BenchmarkFullSignIn), which needs some reads and commits whatever the code
// around them does.
//
//	go test ./internal/database -run '^$' -bench SQLitePrimitives -benchtime 2s
//
// cpu_us_per_op is process CPU time (user and system: a commit's WAL writes are system calls)
// per operation.
func BenchmarkSQLitePrimitives(b *testing.B) {
	db := testdb.SQLite(b)
	ctx := context.Background()
	const (
		read   = `SELECT id, slug, name FROM organisations WHERE id = $1`
		audit  = `INSERT INTO audit_events (occurred_at, org_id, actor, action, outcome, user_id, client_id, ip, user_agent, request_id, details) VALUES (?, 'system', 'user:u1', 'signin.succeeded', 'success', 'u1', '', '192.0.2.1', 'Mozilla/5.0 (X11; Linux x86_64)', ?, '{"method":"passkey"}')`
		cer    = `INSERT INTO webauthn_ceremonies (id, kind, user_id, data, created_at, expires_at) VALUES (?, 'login', 'u1', '{}', ?, ?)`
		delCer = `DELETE FROM webauthn_ceremonies WHERE id = ?`
	)
	n := 0
	id := func() string { n++; return fmt.Sprintf("%s-%09d", time.Now().Format("150405.000000"), n) }
	run := func(name string, op func() error) {
		b.Run(name, func(b *testing.B) {
			start := cpu()
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpu()-start).Microseconds())/float64(b.N), "cpu_us_per_op")
		})
	}
	run("read-by-key", func() error {
		var a, s, nm string
		return db.QueryRow(ctx, read, "system").Scan(&a, &s, &nm)
	})
	run("insert-commit", func() error {
		now := time.Now().UTC()
		return db.Conn(ctx).Exec(cer, id(), now, now.Add(time.Minute)).Error
	})
	run("audit-insert-commit", func() error {
		return db.Conn(ctx).Exec(audit, time.Now().UTC(), id()).Error
	})
	run("transaction-of-three-writes", func() error {
		return db.InTx(ctx, func(ctx context.Context) error {
			now := time.Now().UTC()
			k := id()
			if err := db.Conn(ctx).Exec(cer, k, now, now.Add(time.Minute)).Error; err != nil {
				return err
			}
			if err := db.Conn(ctx).Exec(delCer, k).Error; err != nil {
				return err
			}
			return db.Conn(ctx).Exec(audit, now, k).Error
		})
	})
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
