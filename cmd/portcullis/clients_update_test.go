package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/provider/clients"
)

// clients create takes token lifetimes and refuses them out of bounds naming the field; clients
// update changes only the settings given.
func TestClientsCLILifetimesAndUpdate(t *testing.T) {
	eachDB(t, func(t *testing.T, s *testServer) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--access-token-lifetime", "10s"}, "access_token_lifetime"},
			{[]string{"--refresh-token-lifetime", "100d"}, "invalid value"}, // not a Go duration
			{[]string{"--refresh-token-lifetime", "2400h"}, "refresh_token_lifetime"},
			{[]string{"--id-token-lifetime", "25h"}, "id_token_lifetime"},
		} {
			args := append([]string{"clients", "create", "--name", "Bad", "--redirect-uri", callback}, tc.args...)
			if out, err := s.cli(args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("create %v: %v (%s), want an error naming %s", tc.args, err, out, tc.want)
			}
		}

		c := s.createClient("--name", "Portal", "--redirect-uri", callback, "--access-token-lifetime", "15m", "--scope", "openid")
		out, err := s.cli("clients", "show", c.ID)
		if err != nil || !strings.Contains(out, "access_token=15m0s refresh_token=default id_token=default") {
			t.Fatalf("show: %v\n%s", err, out)
		}
		out, err = s.cli("clients", "update", "--refresh-token-lifetime", "720h", "--name", "Portal 2", c.ID)
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		cl := s.clientRow(t, c.ID)
		if cl.Name != "Portal 2" || cl.Lifetimes.AccessToken != 15*time.Minute || cl.Lifetimes.RefreshToken != 720*time.Hour ||
			strings.Join(cl.Scopes, " ") != "openid" || len(cl.RedirectURIs) != 1 || !cl.FirstParty {
			t.Fatalf("after update: %+v\n%s", cl, out)
		}
		if _, err := s.cli("clients", "update", "--access-token-lifetime", "48h", c.ID); err == nil || !strings.Contains(err.Error(), "access_token_lifetime") {
			t.Fatalf("update out of bounds: %v", err)
		}
		if _, err := s.cli("clients", "update", "--access-token-lifetime", "0", c.ID); err != nil {
			t.Fatal(err)
		}
		if cl := s.clientRow(t, c.ID); cl.Lifetimes.AccessToken != 0 || cl.Name != "Portal 2" {
			t.Fatalf("back to the default: %+v", cl)
		}
		if n := opsCount(t, s, `SELECT COUNT(*) FROM audit_events WHERE action = 'client.updated' AND client_id = ? AND actor = 'cli'`, c.ID); n != 2 {
			t.Errorf("%d client.updated events, want 2", n)
		}
		if _, err := s.cli("clients", "update", "--name", "X", "no-such-client"); err == nil {
			t.Error("update of an unknown client succeeded")
		}
	})
}

// clientRow reads a client from the store.
func (s *testServer) clientRow(t *testing.T, id string) clients.Client {
	t.Helper()
	c, err := clients.NewStore(s.env.db).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
