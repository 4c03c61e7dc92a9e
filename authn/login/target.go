package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/provider"
)

// Orgs reads organisations and their policy.
type Orgs interface {
	GetOrg(ctx context.Context, id string) (directory.Org, error)
	GetOrgBySlug(ctx context.Context, slug string) (directory.Org, error)
}

// Target is where a sign-in leads and for which organisation: a pending authorize request (of a
// client in one organisation), or, without one, the account page of the organisation named by
// the sign-in URL (/o/{slug}/login), or of the system organisation (/login). Every way of
// signing in (passkey, password, another device, recovery code) resolves it the same way.
type Target struct {
	PendingID    string
	Org          directory.Org
	ClientID     string
	ClientName   string
	LoginHint    string
	NeedsPasskey bool   // acr_values=phr: only a passkey sign-in will do
	Base         string // "" or "/o/{slug}": the prefix of this sign-in's own URLs
}

// ErrWrongOrg: the sign-in URL names another organisation than the pending request's client.
var ErrWrongOrg = errors.New("sign-in request is for another organisation")

// Targets resolves sign-in targets.
type Targets struct {
	Pending *provider.PendingStore
	Clients Clients
	Orgs    Orgs
}

// Resolve resolves the sign-in target of a request: pendingID is the parked authorize request,
// and the route's {slug}, when present, names the organisation.
func (ts Targets) Resolve(r *http.Request, pendingID string) (Target, error) {
	ctx := r.Context()
	var t Target
	slug := mux.Vars(r)["slug"]
	if slug != "" {
		t.Base = "/o/" + slug
	}
	if pendingID == "" {
		var err error
		if slug != "" {
			t.Org, err = ts.Orgs.GetOrgBySlug(ctx, slug)
		} else {
			t.Org, err = ts.Orgs.GetOrg(ctx, directory.SystemOrgID)
		}
		return t, err
	}
	pend, err := ts.Pending.Request(ctx, pendingID, time.Now())
	if err != nil {
		return t, err
	}
	c, err := ts.Clients.Get(ctx, pend.ClientID)
	if err != nil {
		return t, err
	}
	if t.Org, err = ts.Orgs.GetOrg(ctx, c.OrgID); err != nil {
		return t, err
	}
	if slug != "" && slug != t.Org.Slug {
		// The client decides the organisation; a URL naming another one is a mistake or a trick.
		return t, ErrWrongOrg
	}
	t.PendingID, t.ClientID, t.ClientName = pend.ID, c.ID, c.Name
	t.LoginHint = pend.Form.Get("login_hint")
	t.NeedsPasskey = slices.Contains(strings.Fields(pend.Form.Get("acr_values")), provider.ACRPhishingResistant)
	return t, nil
}

// Next is where the browser goes once signed in.
func (t Target) Next() string {
	if t.PendingID != "" {
		return "/oauth2/auth/resume?request=" + url.QueryEscape(t.PendingID)
	}
	return "/account"
}

// Query is the ?request=… of this sign-in's own URLs.
func (t Target) Query() string {
	if t.PendingID == "" {
		return ""
	}
	return "?request=" + url.QueryEscape(t.PendingID)
}

func (h *Handler) target(r *http.Request, pendingID string) (Target, error) {
	return Targets{Pending: h.Pending, Clients: h.Clients, Orgs: h.Orgs}.Resolve(r, pendingID)
}

// expired is the page for a sign-in whose target cannot be resolved.
func (h *Handler) expired(w http.ResponseWriter, r *http.Request) {
	h.UI.Error(w, r, http.StatusBadRequest, "This sign-in request has expired",
		"Go back to the app you were signing in to and start again.", "")
}
