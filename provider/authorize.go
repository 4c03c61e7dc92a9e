package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/provider/keys"
	"github.com/portcullis-id/portcullis/provider/store"
)

// authorize is the authorization endpoint (RFC 6749 section 3.1, OIDC Core 3.1.2).
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.UI.Error(w, r, http.StatusBadRequest, "This sign-in link is not valid", "The sign-in request could not be read.", "")
		return
	}
	// Request objects (OIDC Core 6) are not supported. fosite would try to parse one before it
	// validates the redirect URI and could then only show a page; take it out so the client gets
	// request_not_supported at its validated redirect URI.
	unsupported := stripRequestObject(r.Form)
	viaPAR := strings.HasPrefix(r.Form.Get("request_uri"), parPrefix)
	ar, err := p.OAuth2.NewAuthorizeRequest(r.Context(), r)
	if err == nil {
		ar.SetID(newRequestID())
	}
	if err == nil && unsupported != nil {
		err = unsupported
	}
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	p.dispatch(w, r, ar, viaPAR, time.Now().UTC(), Pending{})
}

const parPrefix = "urn:ietf:params:oauth:request_uri:"

func stripRequestObject(form url.Values) error {
	var err error
	if form.Has("request") {
		form.Del("request")
		err = fosite.ErrRequestNotSupported.WithHint("Request objects are not supported.")
	}
	if ru := form.Get("request_uri"); ru != "" && !strings.HasPrefix(ru, parPrefix) {
		form.Del("request_uri")
		err = fosite.ErrRequestURINotSupported.WithHint("request_uri is only accepted from pushed authorization requests.")
	}
	return err
}

// resume continues a pending authorize request after the sign-in step.
func (p *Provider) resume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pend, err := p.Pending.Get(ctx, r.URL.Query().Get("request"), time.Now())
	if errors.Is(err, database.ErrNotFound) {
		p.UI.Error(w, r, http.StatusBadRequest, "This sign-in request has expired",
			"Go back to the app you were signing in to and start again.", "")
		return
	}
	if err != nil {
		p.serverError(w, r, "load pending authorize request", err)
		return
	}
	// Rebuild the original request from the stored parameters; a PAR request_uri was already
	// consumed, so the stored form is the resolved request.
	req := r.Clone(ctx)
	req.Method = http.MethodGet
	req.URL = &url.URL{Path: "/oauth2/auth", RawQuery: pend.Form.Encode()}
	req.Form, req.PostForm, req.Body = nil, nil, http.NoBody
	ar, err := p.OAuth2.NewAuthorizeRequest(ctx, req)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	ar.SetID(newRequestID())
	p.dispatch(w, req, ar, pend.ViaPAR, pend.CreatedAt, pend)
}

// dispatch decides what the validated request needs next: a sign-in, consent, or the
// authorization response. pend is the parked request being resumed (zero for a new request).
func (p *Provider) dispatch(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, viaPAR bool, requestedAt time.Time, pend Pending) {
	ctx := r.Context()
	pendingID := pend.ID
	client, ok := ar.GetClient().(*Client)
	if !ok {
		p.serverError(w, r, "unexpected client type", nil)
		return
	}
	if err := validateAuthorize(ar.GetRequestForm(), client, viaPAR, ar.GetRequestedScopes()); err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	form := ar.GetRequestForm()
	prompts := strings.Fields(form.Get("prompt"))

	sess, err := p.Sessions.Current(r)
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		p.serverError(w, r, "load sign-in session", err)
		return
	}
	var user directory.User
	signedIn := err == nil
	if signedIn {
		user, err = p.Users.GetUser(ctx, sess.UserID)
		if err != nil && !errors.Is(err, database.ErrNotFound) {
			p.serverError(w, r, "load user", err)
			return
		}
		signedIn = err == nil && user.Active() && user.OrgID == client.OrgID
	}
	if !signedIn || needsFreshSignIn(sess, form, prompts, requestedAt) {
		if slices.Contains(prompts, "none") {
			p.authorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint("The user is not signed in."))
			return
		}
		if pendingID, err = p.park(ctx, client, form, viaPAR, requestedAt, pendingID); err != nil {
			p.serverError(w, r, "park authorize request", err)
			return
		}
		http.Redirect(w, r, "/login?request="+url.QueryEscape(pendingID), http.StatusSeeOther)
		return
	}
	if !p.consentStep(w, r, ar, client, user, prompts, pend, viaPAR, requestedAt) {
		return
	}

	// The requested scopes, already checked against the client, are granted: a first-party
	// client needs no consent, and a third-party client's user has allowed them (consentStep).
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	for _, a := range ar.GetRequestedAudience() {
		ar.GrantAudience(a)
	}
	fs := p.userSession(user, sess, requestedAt, ar.GetGrantedScopes())
	ctx = keys.WithAlgorithm(ctx, client.IDTokenSignedResponseAlg)
	// The code, its PKCE and OpenID Connect state, the audit record and the end of the parked
	// request are written in one transaction: all of them or none, and one commit instead of five.
	var resp fosite.AuthorizeResponder
	err = p.Pending.DB.InTx(ctx, func(ctx context.Context) error {
		var err error
		// The code and its PKCE and OpenID Connect requests go into one row.
		ctx = p.Store.GatherCode(ctx)
		if resp, err = p.OAuth2.NewAuthorizeResponse(ctx, ar, fs); err != nil {
			return err
		}
		if err := p.Store.FlushCode(ctx); err != nil {
			return err
		}
		if pendingID != "" {
			if err := p.Pending.Delete(ctx, pendingID); err != nil {
				return err
			}
		}
		return p.Audit.Record(ctx, audit.FromRequest(r, audit.Event{Action: "authorize.code_issued", OrgID: client.OrgID,
			Actor: "user:" + user.ID, UserID: user.ID, ClientID: client.ID,
			Details: map[string]any{"scope": strings.Join(ar.GetGrantedScopes(), " "), "sid": sess.ID}}))
	})
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	allowFormPost(w, ar)
	p.OAuth2.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// park keeps a request for a later step (sign-in, consent) and returns its id; a request already
// parked keeps its id. The PAR request_uri was used up by this request, so the resolved
// parameters are parked.
func (p *Provider) park(ctx context.Context, client *Client, form url.Values, viaPAR bool, requestedAt time.Time, pendingID string) (string, error) {
	if pendingID != "" {
		return pendingID, nil
	}
	parked := store.WithoutCredentials(form)
	parked.Del("request_uri")
	pend, err := p.Pending.Create(ctx, client.ID, parked, viaPAR, requestedAt)
	return pend.ID, err
}

// allowFormPost lets a form_post response's form reach the client's validated redirect URI.
func allowFormPost(w http.ResponseWriter, ar fosite.AuthorizeRequester) {
	if ar == nil || ar.GetResponseMode() != fosite.ResponseModeFormPost || ar.GetRedirectURI() == nil {
		return
	}
	u := ar.GetRedirectURI()
	origin := u.Scheme + ":" // a private-use scheme (RFC 8252) has no host: allow the scheme
	if u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	}
	w.Header().Set("Content-Security-Policy", httpx.FormPostCSP(origin))
}

// needsFreshSignIn applies prompt=login, max_age (OIDC Core 3.1.2.1) and acr_values=phr to an
// existing session.
func needsFreshSignIn(sess session.Session, form url.Values, prompts []string, requestedAt time.Time) bool {
	if slices.Contains(prompts, "login") && sess.AuthTime.Before(requestedAt.Truncate(time.Second)) {
		return true
	}
	if ma := form.Get("max_age"); ma != "" {
		// Measured from when the request arrived, so that a sign-in made for this very request
		// satisfies even max_age=0 (OIDC Core 3.1.2.1).
		n, _ := strconv.ParseInt(ma, 10, 64)
		if sess.AuthTime.Before(requestedAt.Truncate(time.Second).Add(-time.Duration(n) * time.Second)) {
			return true
		}
	}
	if slices.Contains(strings.Fields(form.Get("acr_values")), ACRPhishingResistant) && sess.ACR != ACRPhishingResistant {
		return true
	}
	return false
}

// ACRPhishingResistant is the acr of a passkey sign-in (OpenID EAP ACR Values 1.0, "phr").
const ACRPhishingResistant = "phr"

var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// validateAuthorize checks, before anyone is asked to sign in, what fosite only checks when it
// issues the response: PKCE, the PAR requirement, prompt, max_age, nonce and request objects.
func validateAuthorize(form url.Values, c *Client, viaPAR bool, scopes fosite.Arguments) error {
	if c.RequirePAR && !viaPAR {
		return fosite.ErrInvalidRequest.WithHint("This client must send its authorization requests by PAR (RFC 9126).")
	}
	if form.Get("request") != "" {
		return fosite.ErrRequestNotSupported.WithHint("Request objects are not supported.")
	}
	challenge, method := form.Get("code_challenge"), form.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return fosite.ErrInvalidRequest.WithHint("code_challenge_method was sent without code_challenge.")
	case challenge == "" && c.Public:
		return fosite.ErrInvalidRequest.WithHint("Public clients must use PKCE (RFC 7636) with code_challenge_method S256.")
	case challenge != "" && method != "S256":
		return fosite.ErrInvalidRequest.WithHint("Only code_challenge_method S256 is supported.")
	case challenge != "" && !pkceChallenge.MatchString(challenge):
		return fosite.ErrInvalidRequest.WithHint("code_challenge must be 43 to 128 characters of base64url (RFC 7636 section 4.2).")
	}
	prompts := strings.Fields(form.Get("prompt"))
	for _, pr := range prompts {
		if pr != "none" && pr != "login" && pr != "consent" {
			return fosite.ErrInvalidRequest.WithHintf("Unsupported prompt value %q.", pr)
		}
	}
	if slices.Contains(prompts, "none") && len(prompts) > 1 {
		return fosite.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other values.")
	}
	if ma := form.Get("max_age"); ma != "" {
		if n, err := strconv.ParseInt(ma, 10, 64); err != nil || n < 0 {
			return fosite.ErrInvalidRequest.WithHint("max_age must be a non-negative number of seconds.")
		}
	}
	if n := form.Get("nonce"); n != "" && len(n) < fosite.MinParameterEntropy {
		return fosite.ErrInvalidRequest.WithHintf("nonce must be at least %d characters.", fosite.MinParameterEntropy)
	}
	if scopes.Has("openid") && len(form.Get("login_hint")) > 256 {
		return fosite.ErrInvalidRequest.WithHint("login_hint is too long.")
	}
	return nil
}

// authorizeError sends a protocol error to the client only when its redirect URI is validated;
// otherwise the person in the browser gets a page and the details go to the log (RFC 6749 4.1.2.1).
func (p *Provider) authorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	p.log(r.Context()).Info("authorize request refused", "error", rfc.ErrorField, "hint", rfc.HintField, "debug", rfc.DebugField)
	if ar != nil && ar.IsRedirectURIValid() {
		allowFormPost(w, ar)
		p.OAuth2.WriteAuthorizeError(r.Context(), w, ar, err)
		return
	}
	heading, msg := "This sign-in link is not valid", "The app sent a sign-in request that Portcullis cannot accept. Contact the app's administrator."
	switch rfc.ErrorField {
	case fosite.ErrInvalidClient.ErrorField:
		msg = "The app that sent you here is not registered with this Portcullis server."
	case fosite.ErrInvalidRequest.ErrorField:
		if strings.Contains(strings.ToLower(rfc.HintField+rfc.DescriptionField), "redirect") {
			msg = "The app asked to send you back to an address it has not registered, so Portcullis stopped here to protect you."
		} else if rfc.HintField != "" {
			msg = "The app sent a sign-in request that Portcullis cannot accept: " + rfc.HintField
		}
	}
	p.UI.Error(w, r, http.StatusBadRequest, heading, msg, "")
}

// serverError logs an internal failure and shows a plain page.
func (p *Provider) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	p.log(r.Context()).Error(what, "err", err)
	p.UI.Error(w, r, http.StatusInternalServerError, "Something went wrong",
		"Portcullis could not finish this request. Please try again in a moment.", "")
}
