package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
	"github.com/portcullis-id/portcullis/provider/store"
)

// A revoked consent cuts one user off one client: that pair's refresh tokens and codes stop
// working and its access tokens are gone; the user's other apps and other users keep theirs.
func TestRevokeForClient(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		type tok struct{ kind, sig, client, subject string }
		rows := []tok{
			{store.KindRefresh, "r1", "app", "ann"}, {store.KindAccess, "a1", "app", "ann"}, {store.KindCode, "c1", "app", "ann"},
			{store.KindRefresh, "r2", "other", "ann"}, {store.KindAccess, "a2", "other", "ann"},
			{store.KindRefresh, "r3", "app", "bob"}, {store.KindAccess, "a3", "app", "bob"},
		}
		for _, r := range rows {
			if err := db.Exec(`INSERT INTO oauth2_tokens (kind, signature, request_id, client_id, subject, active, requested_at, expires_at, data)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.kind, r.sig, "req-"+r.sig, r.client, r.subject, true, now, now.Add(time.Hour), "{}").Error; err != nil {
				t.Fatal(err)
			}
		}
		n, err := store.UserTokens{DB: db}.RevokeForClient(ctx, "ann", "app")
		if err != nil || n != 3 {
			t.Fatalf("RevokeForClient = %d, %v; want 3", n, err)
		}
		state := func(kind, sig string) string {
			var active []bool
			if err := db.Raw(`SELECT active FROM oauth2_tokens WHERE kind = ? AND signature = ?`, kind, sig).Scan(&active).Error; err != nil {
				t.Fatal(err)
			}
			switch {
			case len(active) == 0:
				return "gone"
			case active[0]:
				return "active"
			}
			return "inactive"
		}
		for _, c := range []struct{ kind, sig, want string }{
			{store.KindRefresh, "r1", "inactive"}, {store.KindCode, "c1", "inactive"}, {store.KindAccess, "a1", "gone"},
			{store.KindRefresh, "r2", "active"}, {store.KindAccess, "a2", "active"},
			{store.KindRefresh, "r3", "active"}, {store.KindAccess, "a3", "active"},
		} {
			if got := state(c.kind, c.sig); got != c.want {
				t.Errorf("%s %s: %s, want %s", c.kind, c.sig, got, c.want)
			}
		}
		if n, err := (store.UserTokens{DB: db}).RevokeForClient(ctx, "", "app"); n != 0 || err != nil {
			t.Fatalf("empty subject: %d, %v", n, err)
		}
	})
}
