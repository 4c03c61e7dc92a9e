package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/ory/fosite"
)

// clientAuthentication wraps fosite's client authentication so that every way a client can fail
// to prove itself answers 401 invalid_client (RFC 6749 section 5.2; RFC 7523 section 3.2 for
// assertions): a request without any client authentication, a replayed or expired assertion,
// an assertion signed with an unknown key. Storage failures stay server errors.
func clientAuthentication(f *fosite.Fosite) fosite.ClientAuthenticationStrategy {
	return func(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
		_, _, basic := r.BasicAuth()
		if !basic && form.Get("client_id") == "" && form.Get("client_assertion") == "" {
			return nil, fosite.ErrInvalidClient.WithHint("The request carries no client authentication.")
		}
		c, err := f.DefaultClientAuthenticationStrategy(ctx, r, form)
		if err == nil {
			return c, nil
		}
		var rfc *fosite.RFC6749Error
		if errors.As(err, &rfc) && (rfc.ErrorField == fosite.ErrInvalidClient.ErrorField ||
			rfc.ErrorField == fosite.ErrServerError.ErrorField) {
			return nil, err
		}
		if form.Get("client_assertion") != "" || form.Get("client_assertion_type") != "" {
			return nil, fosite.ErrInvalidClient.WithHint("The client assertion is not valid.").WithWrap(err).WithDebug(err.Error())
		}
		return nil, err
	}
}

// challenge adds the WWW-Authenticate header RFC 6749 section 5.2 asks for with invalid_client.
func challenge(w http.ResponseWriter, err error) {
	if err != nil && fosite.ErrorToRFC6749Error(err).ErrorField == fosite.ErrInvalidClient.ErrorField {
		w.Header().Set("WWW-Authenticate", `Basic realm="portcullis", error="invalid_client"`)
	}
}
