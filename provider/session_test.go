package provider

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ory/fosite"
)

// CopyFrom gives what a JSON round trip gives, and a copy shares nothing that can be changed.
func TestSessionCopyFrom(t *testing.T) {
	src := NewSession()
	src.Subject, src.Username, src.SID, src.OrgID = "user-1", "ann", "sid-1", "org-1"
	src.Claims.Subject, src.Claims.Nonce = "user-1", "n-1"
	src.Claims.Audience = []string{"client-1"}
	src.Claims.AuthenticationMethodsReferences = []string{"hwk", "user"}
	src.Claims.AuthTime = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	src.Claims.Extra = map[string]any{"roles": []any{"admin"}, "address": map[string]any{"country": "NL"}}
	src.Headers.Extra = map[string]any{"kid": "k1"}
	src.SetExpiresAt(fosite.AccessToken, time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC))
	// What the store keeps is what JSON gives back, so compare against that.
	raw, err := json.Marshal(src)
	if err != nil {
		t.Fatal(err)
	}
	stored := NewSession()
	if err := json.Unmarshal(raw, stored); err != nil {
		t.Fatal(err)
	}

	cp := NewSession()
	if !cp.CopyFrom(stored) {
		t.Fatal("CopyFrom refused a *Session")
	}
	if !reflect.DeepEqual(cp, stored) {
		t.Fatalf("copy differs:\n got %+v\nwant %+v", cp.DefaultSession, stored.DefaultSession)
	}

	// Change everything the copy holds; the original keeps its values.
	cp.Claims.Nonce = "changed"
	cp.Claims.Audience[0] = "changed"
	cp.Claims.AuthenticationMethodsReferences[0] = "changed"
	cp.Claims.Extra["roles"].([]any)[0] = "changed"
	cp.Claims.Extra["address"].(map[string]any)["country"] = "changed"
	cp.Headers.Extra["kid"] = "changed"
	cp.SetExpiresAt(fosite.AccessToken, time.Time{})
	cp.Subject = "changed"
	again := NewSession()
	if err := json.Unmarshal(raw, again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored, again) {
		t.Fatalf("changing the copy changed the original:\n got %+v\nwant %+v", stored.DefaultSession, again.DefaultSession)
	}

	if cp.CopyFrom(nil) || cp.CopyFrom(&fosite.DefaultSession{}) {
		t.Error("CopyFrom accepted something other than a *Session")
	}
}
