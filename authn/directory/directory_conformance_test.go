package directory_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// addOrg inserts a second organisation directly, as the admin tooling would.
func addOrg(t *testing.T, db *database.DB, id, slug, name string) {
	t.Helper()
	if err := db.Exec(`INSERT INTO organisations (id, slug, name, created_at) VALUES (?, ?, ?, ?)`,
		id, slug, name, time.Now().UTC()).Error; err != nil {
		t.Fatalf("insert organisation %s: %v", id, err)
	}
}

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name     string
		username string
		ok       bool
	}{
		{"plain", "alice", true},
		{"email-like", "alice.smith+ops@example.com", true},
		{"digits and dash", "user_01-x", true},
		{"unicode letters", "Łukasz", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"empty", "", false},
		{"65 characters", strings.Repeat("a", 65), false},
		{"inner space", "alice smith", false},
		{"leading space", " alice", false},
		{"tab", "alice\tsmith", false},
		{"newline", "alice\n", false},
		{"slash", "alice/bob", false},
		{"quote", `alice"`, false},
		{"angle bracket", "<alice>", false},
		{"colon", "user:alice", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := directory.ValidateUsername(tc.username)
			if tc.ok && err != nil {
				t.Fatalf("ValidateUsername(%q) = %v, want ok", tc.username, err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("ValidateUsername(%q) = nil, want an error", tc.username)
			}
		})
	}
}

func TestDirectoryConformance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := directory.NewStore(db)
		addOrg(t, db, "org-acme", "acme", "Acme Inc.")

		t.Run("create user validates the username", func(t *testing.T) {
			tests := []struct {
				name     string
				username string
				wantName string // "" when creation must fail
			}{
				{"valid", "carol", "carol"},
				{"surrounding spaces are trimmed", "  dave  ", "dave"},
				{"inner space rejected", "erin smith", ""},
				{"only spaces rejected", "   ", ""},
				{"empty rejected", "", ""},
				{"too long rejected", strings.Repeat("x", 65), ""},
				{"control character rejected", "frank\x07", ""},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					u, err := s.CreateUser(ctx, directory.User{Username: tc.username})
					if tc.wantName == "" {
						if err == nil {
							t.Fatalf("CreateUser(%q) succeeded with %+v, want a validation error", tc.username, u)
						}
						if errors.Is(err, database.ErrAlreadyExists) {
							t.Fatalf("CreateUser(%q) = %v, want a validation error", tc.username, err)
						}
						var n int64
						if err := db.Raw(`SELECT COUNT(*) FROM users WHERE username = ?`, tc.username).Scan(&n).Error; err != nil {
							t.Fatal(err)
						}
						if n != 0 {
							t.Fatalf("rejected username %q was stored", tc.username)
						}
						return
					}
					if err != nil {
						t.Fatalf("CreateUser(%q): %v", tc.username, err)
					}
					if u.Username != tc.wantName {
						t.Fatalf("Username = %q, want %q", u.Username, tc.wantName)
					}
					got, err := s.GetUserByUsername(ctx, directory.SystemOrgID, tc.wantName)
					if err != nil {
						t.Fatalf("GetUserByUsername(%q): %v", tc.wantName, err)
					}
					if got.ID != u.ID {
						t.Fatalf("GetUserByUsername id = %q, want %q", got.ID, u.ID)
					}
				})
			}
		})

		t.Run("create user fills defaults and round-trips", func(t *testing.T) {
			in := directory.User{Username: "grace", DisplayName: "Grace Hopper", Email: "grace@example.test",
				EmailVerified: true}
			u, err := s.CreateUser(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if u.ID == "" || u.ID == u.Username {
				t.Fatalf("user id %q must be random, not the username", u.ID)
			}
			if u.OrgID != directory.SystemOrgID {
				t.Errorf("OrgID = %q, want the system org", u.OrgID)
			}
			if u.Status != directory.StatusActive || !u.Active() {
				t.Errorf("Status = %q, want active", u.Status)
			}
			got, err := s.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != u.ID || got.OrgID != u.OrgID || got.Username != "grace" || got.DisplayName != in.DisplayName ||
				got.Email != in.Email || !got.EmailVerified || got.Status != directory.StatusActive {
				t.Fatalf("GetUser = %+v, want %+v", got, u)
			}
			if d := got.CreatedAt.Sub(u.CreatedAt); d > time.Millisecond || d < -time.Millisecond {
				t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, u.CreatedAt)
			}
			other, err := s.CreateUser(ctx, directory.User{Username: "grace2"})
			if err != nil {
				t.Fatal(err)
			}
			if other.ID == u.ID {
				t.Fatal("two users got the same id")
			}
		})

		t.Run("usernames are unique per organisation", func(t *testing.T) {
			first, err := s.CreateUser(ctx, directory.User{Username: "heidi"})
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name    string
				user    directory.User
				wantErr error // nil: must succeed
			}{
				{"same org duplicate", directory.User{Username: "heidi"}, database.ErrAlreadyExists},
				{"same org duplicate explicit org", directory.User{Username: "heidi", OrgID: directory.SystemOrgID}, database.ErrAlreadyExists},
				{"same org duplicate after trimming", directory.User{Username: " heidi "}, database.ErrAlreadyExists},
				{"other org same username", directory.User{Username: "heidi", OrgID: "org-acme"}, nil},
				{"other org duplicate", directory.User{Username: "heidi", OrgID: "org-acme"}, database.ErrAlreadyExists},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					u, err := s.CreateUser(ctx, tc.user)
					if tc.wantErr != nil {
						if !errors.Is(err, tc.wantErr) {
							t.Fatalf("CreateUser = %+v, %v; want %v", u, err, tc.wantErr)
						}
						return
					}
					if err != nil {
						t.Fatalf("CreateUser: %v", err)
					}
					if u.ID == first.ID {
						t.Fatal("the user in another org reused the first user's id")
					}
					got, err := s.GetUserByUsername(ctx, tc.user.OrgID, "heidi")
					if err != nil || got.ID != u.ID {
						t.Fatalf("GetUserByUsername(%s) = %+v, %v; want %s", tc.user.OrgID, got, err, u.ID)
					}
				})
			}
			sys, err := s.GetUserByUsername(ctx, directory.SystemOrgID, "heidi")
			if err != nil || sys.ID != first.ID {
				t.Fatalf("system org heidi = %+v, %v; want %s", sys, err, first.ID)
			}
		})

		t.Run("a failed duplicate leaves no roles behind", func(t *testing.T) {
			if _, err := s.CreateUser(ctx, directory.User{Username: "ivan", Roles: []string{"viewer"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateUser(ctx, directory.User{Username: "ivan", Roles: []string{"admin"}}); !errors.Is(err, database.ErrAlreadyExists) {
				t.Fatalf("duplicate CreateUser: err = %v, want ErrAlreadyExists", err)
			}
			got, err := s.GetUserByUsername(ctx, directory.SystemOrgID, "ivan")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Roles, []string{"viewer"}) {
				t.Fatalf("Roles = %v, want [viewer]", got.Roles)
			}
		})

		t.Run("unknown organisation is rejected", func(t *testing.T) {
			if _, err := s.CreateUser(ctx, directory.User{Username: "judy", OrgID: "no-such-org"}); err == nil {
				t.Fatal("CreateUser in an unknown organisation succeeded")
			}
		})

		t.Run("roles are sorted, unique and read back", func(t *testing.T) {
			tests := []struct {
				name  string
				roles []string
				want  []string
			}{
				{"none", nil, nil},
				{"one", []string{"admin"}, []string{"admin"}},
				{"unsorted", []string{"viewer", "admin", "editor"}, []string{"admin", "editor", "viewer"}},
				{"duplicates and blanks", []string{"viewer", " admin ", "", "viewer", "admin", "  "}, []string{"admin", "viewer"}},
			}
			for i, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					u, err := s.CreateUser(ctx, directory.User{Username: "roles" + string(rune('a'+i)), Roles: tc.roles})
					if err != nil {
						t.Fatal(err)
					}
					if !equalRoles(u.Roles, tc.want) {
						t.Errorf("CreateUser Roles = %v, want %v", u.Roles, tc.want)
					}
					byID, err := s.GetUser(ctx, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					if !equalRoles(byID.Roles, tc.want) {
						t.Errorf("GetUser Roles = %v, want %v", byID.Roles, tc.want)
					}
					byName, err := s.GetUserByUsername(ctx, u.OrgID, u.Username)
					if err != nil {
						t.Fatal(err)
					}
					if !equalRoles(byName.Roles, tc.want) {
						t.Errorf("GetUserByUsername Roles = %v, want %v", byName.Roles, tc.want)
					}
				})
			}
		})

		t.Run("unknown users are not found", func(t *testing.T) {
			if _, err := s.CreateUser(ctx, directory.User{Username: "kim", OrgID: "org-acme"}); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name string
				get  func() (directory.User, error)
			}{
				{"unknown id", func() (directory.User, error) { return s.GetUser(ctx, "no-such-id") }},
				{"empty id", func() (directory.User, error) { return s.GetUser(ctx, "") }},
				{"username is not an id", func() (directory.User, error) { return s.GetUser(ctx, "kim") }},
				{"unknown username", func() (directory.User, error) {
					return s.GetUserByUsername(ctx, directory.SystemOrgID, "nobody")
				}},
				{"username of another org", func() (directory.User, error) {
					return s.GetUserByUsername(ctx, directory.SystemOrgID, "kim")
				}},
				{"unknown org", func() (directory.User, error) { return s.GetUserByUsername(ctx, "no-such-org", "kim") }},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					u, err := tc.get()
					if !errors.Is(err, database.ErrNotFound) || !directory.IsNotFound(err) {
						t.Fatalf("got %+v, %v; want ErrNotFound", u, err)
					}
				})
			}
		})

		t.Run("set status", func(t *testing.T) {
			u, err := s.CreateUser(ctx, directory.User{Username: "leo"})
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name       string
				id, status string
				wantErr    bool
				notFound   bool
				wantActive bool
			}{
				{"disable", u.ID, directory.StatusDisabled, false, false, false},
				{"invalid status", u.ID, "deleted", true, false, false},
				{"empty status", u.ID, "", true, false, false},
				{"enable", u.ID, directory.StatusActive, false, false, true},
				{"disable again", u.ID, directory.StatusDisabled, false, false, false},
				{"unknown user", "no-such-id", directory.StatusDisabled, true, true, false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					err := s.SetStatus(ctx, tc.id, tc.status)
					if tc.wantErr != (err != nil) {
						t.Fatalf("SetStatus(%q) = %v, want error %v", tc.status, err, tc.wantErr)
					}
					if tc.notFound && !errors.Is(err, database.ErrNotFound) {
						t.Fatalf("SetStatus unknown = %v, want ErrNotFound", err)
					}
					if tc.notFound {
						return
					}
					got, err := s.GetUser(ctx, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.Active() != tc.wantActive {
						t.Fatalf("after %s: status %q, want active=%v", tc.name, got.Status, tc.wantActive)
					}
				})
			}
		})

		t.Run("organisations", func(t *testing.T) {
			tests := []struct {
				name     string
				get      func() (directory.Org, error)
				wantID   string // "" means not found
				wantSlug string
				wantName string
			}{
				{"system by id", func() (directory.Org, error) { return s.GetOrg(ctx, directory.SystemOrgID) }, "system", "system", "System"},
				{"system by slug", func() (directory.Org, error) { return s.GetOrgBySlug(ctx, "system") }, "system", "system", "System"},
				{"acme by id", func() (directory.Org, error) { return s.GetOrg(ctx, "org-acme") }, "org-acme", "acme", "Acme Inc."},
				{"acme by slug", func() (directory.Org, error) { return s.GetOrgBySlug(ctx, "acme") }, "org-acme", "acme", "Acme Inc."},
				{"slug is not an id", func() (directory.Org, error) { return s.GetOrg(ctx, "acme") }, "", "", ""},
				{"id is not a slug", func() (directory.Org, error) { return s.GetOrgBySlug(ctx, "org-acme") }, "", "", ""},
				{"unknown id", func() (directory.Org, error) { return s.GetOrg(ctx, "nope") }, "", "", ""},
				{"unknown slug", func() (directory.Org, error) { return s.GetOrgBySlug(ctx, "nope") }, "", "", ""},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					o, err := tc.get()
					if tc.wantID == "" {
						if !errors.Is(err, database.ErrNotFound) {
							t.Fatalf("got %+v, %v; want ErrNotFound", o, err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if o.ID != tc.wantID || o.Slug != tc.wantSlug || o.Name != tc.wantName {
						t.Fatalf("org = %+v, want id %s slug %s name %s", o, tc.wantID, tc.wantSlug, tc.wantName)
					}
					if o.CreatedAt.IsZero() {
						t.Fatal("org CreatedAt is zero")
					}
				})
			}
		})
	})
}

func equalRoles(got, want []string) bool {
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	return reflect.DeepEqual(got, want)
}
