package rollout

import (
	"context"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestAdoption: counts of users with a passkey, a password only or neither, providers, and the
// weekly trend from when each user created their first passkey (on both databases).
func TestAdoption(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		dir := directory.NewStore(db)
		org, err := dir.CreateOrg(ctx, "acme", "Acme")
		if err != nil {
			t.Fatal(err)
		}
		add := func(name string) directory.User {
			u, err := dir.CreateUser(ctx, directory.User{OrgID: org.ID, Username: name})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		key := func(u directory.User, id, provider string, age time.Duration) {
			if err := db.Exec(`INSERT INTO passkeys (id, user_id, credential_id, public_key, provider, name, added_via, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, u.ID, "cred-"+id, []byte{1}, provider, id, "enrollment",
				time.Now().UTC().Add(-age)).Error; err != nil {
				t.Fatal(err)
			}
		}
		early, late, pw := add("early"), add("late"), add("pw")
		add("nothing")
		key(early, "e1", "iCloud Keychain", 30*24*time.Hour) // about four weeks ago
		key(early, "e2", "Security key", time.Hour)          // a second one later does not count twice
		key(late, "l1", "iCloud Keychain", 2*24*time.Hour)
		if err := dir.SetPasswordHash(ctx, pw.ID, "$2b$10$x"); err != nil {
			t.Fatal(err)
		}
		a, err := (&Reports{DB: db}).Adoption(ctx, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Users != 4 || a.WithPasskey != 2 || a.PasswordOnly != 1 || a.Neither != 1 {
			t.Fatalf("counts: %+v", a)
		}
		if len(a.Providers) != 2 || a.Providers[0].Provider != "iCloud Keychain" || a.Providers[0].Users != 2 {
			t.Fatalf("providers: %+v", a.Providers)
		}
		if len(a.Trend) != TrendWeeks {
			t.Fatalf("%d trend points", len(a.Trend))
		}
		want := map[int]int{0: 0, TrendWeeks - 6: 0, TrendWeeks - 4: 1, TrendWeeks - 2: 1, TrendWeeks - 1: 2}
		for i, n := range want {
			if got := a.Trend[i].WithPasskey; got != n {
				t.Errorf("trend week %d (ending %s): %d, want %d", i, a.Trend[i].WeekEnding.Format("2006-01-02"), got, n)
			}
		}
		for i := 1; i < len(a.Trend); i++ {
			if !a.Trend[i].WeekEnding.After(a.Trend[i-1].WeekEnding) {
				t.Fatal("trend not in time order")
			}
		}
	})
}
