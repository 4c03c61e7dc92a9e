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

// target is where a sign-in leads and for which organisation: a pending authorize request (of a
// client in one organisation), or, without one, the account page of the organisation named by
// the sign-in URL (/o/{slug}/login), or of the system organisation (/login).
type target struct {
	pendingID    string
	org          directory.Org
	clientName   string
	loginHint    string
	needsPasskey bool   // acr_values=phr: only a passkey sign-in will do
	base         string // "" or "/o/{slug}": the prefix of this sign-in's own URLs
}

var errWrongOrg = errors.New("sign-in request is for another organisation")

// target resolves the sign-in target of a request: pendingID is the parked authorize request,
// and the route's {slug}, when present, names the organisation.
func (h *Handler) target(r *http.Request, pendingID string) (target, error) {
	ctx := r.Context()
	var t target
	slug := mux.Vars(r)["slug"]
	if slug != "" {
		t.base = "/o/" + slug
	}
	if pendingID == "" {
		var err error
		if slug != "" {
			t.org, err = h.Orgs.GetOrgBySlug(ctx, slug)
		} else {
			t.org, err = h.Orgs.GetOrg(ctx, directory.SystemOrgID)
		}
		return t, err
	}
	pend, err := h.Pending.Get(ctx, pendingID, time.Now())
	if err != nil {
		return t, err
	}
	c, err := h.Clients.Get(ctx, pend.ClientID)
	if err != nil {
		return t, err
	}
	if t.org, err = h.Orgs.GetOrg(ctx, c.OrgID); err != nil {
		return t, err
	}
	if slug != "" && slug != t.org.Slug {
		// The client decides the organisation; a URL naming another one is a mistake or a trick.
		return t, errWrongOrg
	}
	t.pendingID, t.clientName = pend.ID, c.Name
	t.loginHint = pend.Form.Get("login_hint")
	t.needsPasskey = slices.Contains(strings.Fields(pend.Form.Get("acr_values")), provider.ACRPhishingResistant)
	return t, nil
}

// next is where the browser goes once signed in.
func (t target) next() string {
	if t.pendingID != "" {
		return "/oauth2/auth/resume?request=" + url.QueryEscape(t.pendingID)
	}
	return "/account"
}

// query is the ?request=… of this sign-in's own URLs.
func (t target) query() string {
	if t.pendingID == "" {
		return ""
	}
	return "?request=" + url.QueryEscape(t.pendingID)
}

// expired is the page for a sign-in whose target cannot be resolved.
func (h *Handler) expired(w http.ResponseWriter, r *http.Request) {
	h.UI.Error(w, r, http.StatusBadRequest, "This sign-in request has expired",
		"Go back to the app you were signing in to and start again.", "")
}
