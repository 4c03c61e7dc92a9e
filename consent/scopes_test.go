package consent

import "testing"

func TestDescribe(t *testing.T) {
	got := Describe([]string{"openid", "profile", "email", "offline_access", "org", "roles", "custom:x"})
	if len(got) != 7 {
		t.Fatalf("Describe = %v", got)
	}
	for _, s := range got[:6] {
		if s.Text == "" || s.Text == s.Name {
			t.Errorf("scope %s has no words: %q", s.Name, s.Text)
		}
	}
	if got[6].Name != "custom:x" || got[6].Text != "Use the permission “custom:x”" {
		t.Errorf("unknown scope: %+v", got[6])
	}
}
