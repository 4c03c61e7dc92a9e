package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/consent"
	"github.com/portcullis-id/portcullis/internal/database"
)

// consentStep is the consent step of the dispatcher, for a signed-in user (OIDC Core 3.1.2.4).
// First-party clients skip it. For a third-party client the request goes on when the consent
// page has just allowed this very request, or when no prompt=consent was asked and the user's
// remembered decision covers every requested scope; otherwise prompt=none gets consent_required
// and everyone else the consent page, with the request parked as for a sign-in. A request the
// user denied ends with access_denied at the client's validated redirect URI. It reports
// whether the code may be issued; when not, it has answered the browser.
func (p *Provider) consentStep(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, client *Client,
	user directory.User, prompts []string, pend Pending, viaPAR bool, requestedAt time.Time) bool {
	if client.FirstParty {
		return true
	}
	ctx := r.Context()
	if pend.ID != "" && pend.ConsentUserID == user.ID {
		switch pend.Consent {
		case ConsentAllowed:
			return true
		case ConsentDenied:
			if err := p.Pending.Delete(ctx, pend.ID); err != nil && !errors.Is(err, database.ErrNotFound) {
				p.serverError(w, r, "end denied authorize request", err)
				return false
			}
			p.authorizeError(w, r, ar, fosite.ErrAccessDenied.WithHint("The user did not allow the app access."))
			return false
		}
	}
	if !slices.Contains(prompts, "consent") {
		covered, err := p.Consent.Covers(ctx, user.ID, client.ID, ar.GetRequestedScopes())
		if err != nil {
			p.serverError(w, r, "load consent", err)
			return false
		}
		if covered {
			return true
		}
	}
	if slices.Contains(prompts, "none") {
		p.authorizeError(w, r, ar, fosite.ErrConsentRequired.WithHint("The user has not allowed this app the requested access."))
		return false
	}
	id, err := p.park(ctx, client, ar.GetRequestForm(), viaPAR, requestedAt, pend.ID)
	if err != nil {
		p.serverError(w, r, "park authorize request", err)
		return false
	}
	http.Redirect(w, r, "/consent?request="+url.QueryEscape(id), http.StatusSeeOther)
	return false
}

// consentPage is the consent page, answering into the provider's parked requests.
func (p *Provider) consentPage() *consent.Handler {
	return &consent.Handler{Store: p.Consent, Requests: consentRequests{p}, Sessions: p.Sessions, Users: p.Users,
		Audit: p.Audit, UI: p.UI, CSRF: p.CSRF}
}

// consentRequests shows the consent page the parked requests.
type consentRequests struct{ p *Provider }

// ConsentRequest returns the parked request with its client and requested scopes, as fosite
// validated them when the request was parked.
func (c consentRequests) ConsentRequest(ctx context.Context, id string) (consent.Request, error) {
	pend, err := c.p.Pending.Get(ctx, id, time.Now())
	if err != nil {
		return consent.Request{}, err
	}
	cl, err := c.p.Clients.Get(ctx, pend.ClientID)
	if err != nil {
		return consent.Request{}, err
	}
	return consent.Request{ID: pend.ID, Client: cl, Scopes: strings.Fields(pend.Form.Get("scope"))}, nil
}

// AnswerConsent records the user's answer on the parked request, for resume to act on.
func (c consentRequests) AnswerConsent(ctx context.Context, id, userID string, allowed bool) error {
	return c.p.Pending.SetConsent(ctx, id, userID, allowed, time.Now())
}
