package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/ory/fosite"
)

// An authorization code with PKCE and OpenID Connect is three fosite requests: the code's, its
// PKCE challenge and its OpenID Connect parameters, which fosite stores and reads back one by one.
// They are the same request with different form values, so when the provider asks for it
// (GatherCode/FlushCode around the authorization response) the store writes them as one code row
// and one statement. At the token endpoint the PKCE and OpenID Connect reads are served from that
// row, read once per request (TrackExchange), and their deletions are only written when the
// exchange fails: a successful exchange makes the code inactive in its own transaction, and an
// inactive code is refused before its PKCE or OpenID Connect parts are ever read again.
//
// Rows written the old way (three rows, or by callers that do not gather) are still read and
// deleted as before.

// part is the PKCE or OpenID Connect request stored inside a code row.
type part struct {
	Form url.Values `json:"form"`
	// Session is set only when it differs from the code's own.
	Session json.RawMessage `json:"session,omitempty"`
}

// codeWrite gathers one authorization response's code rows until FlushCode.
type codeWrite struct {
	signature string
	args      []any // the code row's insert arguments; data (the last one) is rewritten at flush
	st        stored
	pkce      *part
	oidc      *part
}

type codeWriteKey struct{}

// GatherCode returns a context in which the store holds back the code, PKCE and OpenID Connect
// rows of one authorization response until FlushCode writes them as one row. Use it inside the
// transaction that issues the code.
func (s *Store) GatherCode(ctx context.Context) context.Context {
	return context.WithValue(ctx, codeWriteKey{}, &codeWrite{})
}

// FlushCode writes what GatherCode held back (nothing, if no code was issued).
func (s *Store) FlushCode(ctx context.Context) error {
	w, _ := ctx.Value(codeWriteKey{}).(*codeWrite)
	if w == nil || w.signature == "" {
		return nil
	}
	st := w.st
	st.Merged, st.PKCE, st.OIDC = true, w.pkce, w.oidc
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	args := w.args
	args[len(args)-1] = string(data)
	w.signature = ""
	return s.insert(ctx, args)
}

// gathered returns the pending code write of ctx, if the store is gathering.
func gathered(ctx context.Context) *codeWrite {
	w, _ := ctx.Value(codeWriteKey{}).(*codeWrite)
	return w
}

// asPart makes the stored form of a PKCE or OpenID Connect request for the gathered code.
func (w *codeWrite) asPart(st stored) *part {
	p := &part{Form: st.Form}
	if p.Form == nil {
		p.Form = url.Values{}
	}
	if string(st.Session) != string(w.st.Session) {
		p.Session = st.Session
	}
	return p
}

// exchange is one token request's view of the code it exchanges.
type exchange struct {
	signature string
	st        *stored // the code row as last read in this request
	pkceGone  bool    // DeletePKCERequestSession ran in this request
	oidcGone  bool    // DeleteOpenIDConnectSession ran in this request
	active    bool    // GetAuthorizeCodeSession read st, active, in this request

	session     fosite.Session  // the first session unmarshalled from st, untouched (fillSession)
	sessionJSON json.RawMessage // what it was unmarshalled from
}

// readBefore returns the code row GetAuthorizeCodeSession already read, active, in this request.
func readBefore(ctx context.Context, kind, signature string) *stored {
	if kind != KindCode {
		return nil
	}
	if x := tracked(ctx); x != nil && x.signature == signature && x.active && x.st != nil {
		return x.st
	}
	return nil
}

// readActive notes that the code row remembered for signature was read active.
func readActive(ctx context.Context, kind, signature string) {
	if x := tracked(ctx); x != nil && kind == KindCode && x.signature == signature && x.st != nil {
		x.active = true
	}
}

type exchangeKey struct{}

// TrackExchange returns a context for one token request and the function to call when the
// request is over, with whether a token was issued. Within it the PKCE and OpenID Connect parts
// of a gathered code row are read from the code row this request already read, and their
// deletions are written by done only when no token was issued (a failed PKCE check uses the
// challenge up, as when it was a row of its own).
func (s *Store) TrackExchange(ctx context.Context) (context.Context, func(issued bool) error) {
	x := &exchange{}
	return context.WithValue(ctx, exchangeKey{}, x), func(issued bool) error {
		if issued || x.st == nil || (!x.pkceGone && !x.oidcGone) {
			return nil
		}
		return s.dropParts(context.WithoutCancel(ctx), x.signature, x.pkceGone, x.oidcGone)
	}
}

func tracked(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// remember keeps the code row a request read, for the PKCE and OpenID Connect reads that follow.
func remember(ctx context.Context, kind, signature string, st *stored) {
	if kind != KindCode || !st.Merged {
		return
	}
	if x := tracked(ctx); x != nil {
		if x.signature != signature {
			*x = exchange{signature: signature}
		}
		x.st = st
	}
}

// mergedCode returns the gathered code row for signature, or nil when there is none (the code is
// unknown or was stored the old way, in rows of its own).
func (s *Store) mergedCode(ctx context.Context, signature string) (*stored, *exchange, error) {
	x := tracked(ctx)
	if x != nil && x.signature == signature && x.st != nil {
		return x.st, x, nil
	}
	r, err := s.load(ctx, KindCode, signature)
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	st, err := r.decode()
	if err != nil {
		return nil, nil, fmt.Errorf("stored code is corrupt: %w", err)
	}
	if !st.Merged {
		return nil, nil, nil
	}
	remember(ctx, KindCode, signature, &st)
	return &st, tracked(ctx), nil
}

// partRequest hydrates the PKCE or OpenID Connect request kept in a code row.
func (s *Store) partRequest(ctx context.Context, st *stored, p *part, session fosite.Session) (fosite.Requester, error) {
	view := *st
	view.Form = p.Form
	if len(p.Session) > 0 {
		view.Session = p.Session
	}
	return s.hydrate(ctx, KindCode, &view, session)
}

// dropParts writes the deletion of a code row's PKCE and/or OpenID Connect parts.
func (s *Store) dropParts(ctx context.Context, signature string, pkce, oidc bool) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		r, err := s.load(ctx, KindCode, signature)
		if errors.Is(err, fosite.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		st, err := r.decode()
		if err != nil {
			return fmt.Errorf("stored code is corrupt: %w", err)
		}
		if pkce {
			st.PKCE = nil
		}
		if oidc {
			st.OIDC = nil
		}
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		return s.db.Conn(ctx).Exec(`UPDATE oauth2_tokens SET data = ? WHERE kind = ? AND signature = ?`,
			string(b), KindCode, signature).Error
	})
}

// The fosite storage methods for PKCE and OpenID Connect, on gathered code rows first.

// CreatePKCERequestSession implements pkce.PKCERequestStorage.
func (s *Store) CreatePKCERequestSession(ctx context.Context, signature string, req fosite.Requester) error {
	if w := gathered(ctx); w != nil && w.signature != "" && w.signature == signature {
		st, err := s.toStored(req)
		if err != nil {
			return err
		}
		w.pkce = w.asPart(st)
		return nil
	}
	return s.create(ctx, KindPKCE, signature, req, fosite.AuthorizeCode)
}

// GetPKCERequestSession implements pkce.PKCERequestStorage.
func (s *Store) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	st, x, err := s.mergedCode(ctx, signature)
	if err != nil {
		return nil, err
	}
	if st != nil {
		if st.PKCE == nil || (x != nil && x.pkceGone) {
			return nil, fosite.ErrNotFound
		}
		return s.partRequest(ctx, st, st.PKCE, session)
	}
	req, _, err := s.get(ctx, KindPKCE, signature, session)
	if err != nil {
		return nil, err
	}
	return req, nil
}

// DeletePKCERequestSession implements pkce.PKCERequestStorage.
func (s *Store) DeletePKCERequestSession(ctx context.Context, signature string) error {
	st, x, err := s.mergedCode(ctx, signature)
	if err != nil {
		return err
	}
	switch {
	case st != nil && x != nil:
		x.pkceGone = true
		return nil
	case st != nil:
		return s.dropParts(ctx, signature, true, false)
	}
	return s.delete(ctx, KindPKCE, signature)
}

// codeSignature is the code's storage signature, or "" when the store cannot tell.
func (s *Store) codeSignature(ctx context.Context, code string) string {
	if s.CodeSignature == nil {
		return ""
	}
	return s.CodeSignature(ctx, code)
}

// CreateOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Store) CreateOpenIDConnectSession(ctx context.Context, code string, req fosite.Requester) error {
	if w := gathered(ctx); w != nil && w.signature != "" {
		if sig := s.codeSignature(ctx, code); sig != "" && sig == w.signature {
			st, err := s.toStored(req)
			if err != nil {
				return err
			}
			w.oidc = w.asPart(st)
			return nil
		}
	}
	return s.create(ctx, KindOIDC, code, req, fosite.AuthorizeCode)
}

// GetOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Store) GetOpenIDConnectSession(ctx context.Context, code string, req fosite.Requester) (fosite.Requester, error) {
	if sig := s.codeSignature(ctx, code); sig != "" {
		st, x, err := s.mergedCode(ctx, sig)
		if err != nil {
			return nil, err
		}
		if st != nil {
			if st.OIDC == nil || (x != nil && x.oidcGone) {
				return nil, fosite.ErrNotFound
			}
			return s.partRequest(ctx, st, st.OIDC, req.GetSession())
		}
	}
	out, _, err := s.get(ctx, KindOIDC, code, req.GetSession())
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Store) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	if sig := s.codeSignature(ctx, code); sig != "" {
		st, x, err := s.mergedCode(ctx, sig)
		if err != nil {
			return err
		}
		switch {
		case st != nil && x != nil:
			x.oidcGone = true
			return nil
		case st != nil:
			return s.dropParts(ctx, sig, false, true)
		}
	}
	return s.delete(ctx, KindOIDC, code)
}
