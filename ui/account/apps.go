package account

import (
	"context"
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/consent"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
)

// ConnectedApps is what the account page needs of the user's consent decisions (consent.Store).
type ConnectedApps interface {
	List(ctx context.Context, userID string) ([]consent.Decision, error)
	// Revoke takes back a decision and revokes the app's refresh and access tokens for the user.
	Revoke(ctx context.Context, userID, clientID string) error
}

// appView is a connected app as the page shows it: what it may access, in words.
type appView struct {
	consent.Decision
	Access []consent.Scope
}

// connectedApps lists the third-party apps the user allowed, when the page has Apps.
func (h *Handler) connectedApps(ctx context.Context, userID string) ([]appView, error) {
	if h.Apps == nil {
		return nil, nil
	}
	list, err := h.Apps.List(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]appView, 0, len(list))
	for _, d := range list {
		out = append(out, appView{Decision: d, Access: consent.Describe(d.Scopes)})
	}
	return out, nil
}

// revokeApp takes back what the user allowed an app: the app's tokens for this user stop working
// at once, and its next sign-in asks again.
func (h *Handler) revokeApp(w http.ResponseWriter, r *http.Request) {
	_, u, ok := h.form(w, r)
	if !ok {
		return
	}
	if h.Apps == nil {
		http.Redirect(w, r, "/account?error=missing", http.StatusSeeOther)
		return
	}
	clientID := mux.Vars(r)["client"]
	err := h.Apps.Revoke(r.Context(), u.ID, clientID)
	if errors.Is(err, database.ErrNotFound) {
		http.Redirect(w, r, "/account?error=missing-app", http.StatusSeeOther)
		return
	}
	if err != nil {
		h.serverError(w, r, "revoke connected app", err)
		return
	}
	_ = h.Audit.Record(r.Context(), audit.FromRequest(r, audit.Event{Action: "consent.revoked", OrgID: u.OrgID,
		Actor: "user:" + u.ID, UserID: u.ID, ClientID: clientID}))
	http.Redirect(w, r, "/account?done=app-revoked", http.StatusSeeOther)
}
