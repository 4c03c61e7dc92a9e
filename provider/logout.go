package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/ory/fosite/token/jwt"

	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/ui"
)

type logoutPage struct {
	ui.Base
	ClientName, ClientID, PostLogoutRedirectURI, State string
}

// logout is the end-session endpoint (OpenID Connect RP-Initiated Logout 1.0). With an
// id_token_hint for the current session the session ends at once; otherwise the user confirms,
// so that a third-party page cannot sign people out. The browser is sent back only to a
// post_logout_redirect_uri registered exactly for the client.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.UI.Error(w, r, http.StatusBadRequest, "Sign-out request not valid", "The sign-out request could not be read.", "")
		return
	}
	f := r.Form
	clientID, redirect, state := f.Get("client_id"), f.Get("post_logout_redirect_uri"), f.Get("state")

	var hintSub, hintSID string
	if hint := f.Get("id_token_hint"); hint != "" {
		claims, err := p.verifyIDTokenHint(ctx, hint)
		if err != nil {
			p.log(ctx).Info("logout: id_token_hint refused", "err", err)
			p.UI.Error(w, r, http.StatusBadRequest, "Sign-out request not valid",
				"The app's sign-out request carried a token that Portcullis did not issue.", "")
			return
		}
		hintSub, _ = claims["sub"].(string)
		hintSID, _ = claims["sid"].(string)
		aud := audiences(claims["aud"])
		if clientID == "" && len(aud) > 0 {
			clientID = aud[0]
		}
		if clientID != "" && !slices.Contains(aud, clientID) {
			p.UI.Error(w, r, http.StatusBadRequest, "Sign-out request not valid",
				"The sign-out request names an app that the token was not issued to.", "")
			return
		}
	}
	var clientName string
	if clientID != "" {
		c, err := p.Clients.Get(ctx, clientID)
		if err != nil {
			p.UI.Error(w, r, http.StatusBadRequest, "Sign-out request not valid", "The app that sent you here is not registered.", "")
			return
		}
		clientName = c.Name
		if redirect != "" && !slices.Contains(c.PostLogoutRedirectURIs, redirect) {
			p.UI.Error(w, r, http.StatusBadRequest, "Sign-out request not valid",
				"The app asked to send you to an address it has not registered, so Portcullis stopped here to protect you.", "")
			return
		}
	} else if redirect != "" {
		p.UI.Error(w, r, http.StatusBadRequest, "Sign-out request not valid",
			"A return address needs client_id or id_token_hint to say which app it belongs to.", "")
		return
	}

	sess, err := p.Sessions.Current(r)
	signedIn := err == nil
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		p.serverError(w, r, "load session", err)
		return
	}
	confirmed := false
	if r.Method == http.MethodPost && f.Has("confirm") {
		if !p.CSRF.Check(r) {
			p.UI.Error(w, r, http.StatusForbidden, "Sign-out not confirmed", "The form expired. Please go back and try again.", "")
			return
		}
		if f.Get("confirm") != "yes" {
			p.UI.Render(w, r, http.StatusOK, "signed_out", ui.SignedOutPage{Base: ui.Base{Title: "Still signed in"},
				Heading: "You are still signed in", Message: "You can close this page."})
			return
		}
		confirmed = true
	}
	hintMatches := signedIn && hintSub != "" && hintSub == sess.UserID && (hintSID == "" || hintSID == sess.ID)
	if signedIn && !confirmed && !hintMatches {
		p.UI.Render(w, r, http.StatusOK, "logout", logoutPage{Base: ui.Base{Title: "Sign out", CSRFToken: p.CSRF.Token(w, r)},
			ClientName: clientName, ClientID: clientID, PostLogoutRedirectURI: redirect, State: state})
		return
	}
	var frames []string
	if signedIn {
		// The apps of the session are found by its tokens, which revocation below leaves in place.
		if frames, err = p.Logout.FrontChannel(ctx, sess.ID); err != nil {
			p.log(ctx).Warn("logout: front-channel logout URIs", "err", err)
		}
		if _, err := p.Sessions.End(w, r); err != nil && !errors.Is(err, database.ErrNotFound) {
			p.serverError(w, r, "end session", err)
			return
		}
		// Ending the session ends what it granted.
		if err := p.Store.RevokeBySession(r.Context(), sess.ID); err != nil {
			p.serverError(w, r, "revoke the session's tokens", err)
			return
		}
		p.record(r, audit.Event{Action: "session.ended", OrgID: sess.OrgID, Actor: "user:" + sess.UserID,
			UserID: sess.UserID, ClientID: clientID, Details: map[string]any{"sid": sess.ID, "reason": "logout"}})
	}
	var next string
	if u, err := url.Parse(redirect); redirect != "" && err == nil {
		if state != "" {
			q := u.Query()
			q.Set("state", state)
			u.RawQuery = q.Encode()
		}
		if len(frames) == 0 {
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
		// The other apps must load their front-channel logout URIs first: the page frames them
		// and links back to the app (Front-Channel Logout 1.0 section 4).
		next = u.String()
	}
	if len(frames) > 0 {
		w.Header().Set("Content-Security-Policy", httpx.FrameCSP(frames))
	}
	p.UI.Render(w, r, http.StatusOK, "signed_out", ui.SignedOutPage{Base: ui.Base{Title: "Signed out", RequestID: httpx.RequestID(ctx)},
		Heading: "You are signed out", Message: "You have signed out of Portcullis. You can close this page.",
		Frames: frames, ContinueURL: next})
}

// verifyIDTokenHint checks that hint is an ID token we signed for this issuer. Expired tokens are
// accepted, as RP-Initiated Logout 1.0 section 2 allows.
func (p *Provider) verifyIDTokenHint(ctx context.Context, hint string) (jwt.MapClaims, error) {
	tok, err := p.Keys.Signer().Decode(ctx, hint)
	var ve *jwt.ValidationError
	if err != nil && !(errors.As(err, &ve) && ve.Errors == jwt.ValidationErrorExpired) {
		return nil, err
	}
	if tok == nil {
		return nil, errors.New("undecodable token")
	}
	if iss, _ := tok.Claims["iss"].(string); iss != p.Issuer {
		return nil, errors.New("issuer mismatch")
	}
	return tok.Claims, nil
}

func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []string:
		return a
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
