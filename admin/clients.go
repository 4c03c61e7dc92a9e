package admin

import (
	"context"
	"errors"
	"strings"

	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/provider/clients"
)

// ListClients returns a page of the actor's organisation's clients, by name.
func (s *Service) ListClients(ctx context.Context, a Actor, p Page) ([]clients.Client, string, error) {
	list, next, err := s.listClients(ctx, a, p)
	return list, next, s.read(ctx, a, audit.Event{Action: "clients.listed"}, err)
}

func clientKey(c clients.Client) string { return strings.ToLower(c.Name) + "\x00" + c.ID }

func (s *Service) listClients(ctx context.Context, a Actor, p Page) ([]clients.Client, string, error) {
	list, err := s.Clients.List(ctx, a.OrgID)
	if err != nil {
		return nil, "", err
	}
	sortBy(list, clientKey)
	return pageOf(list, clientKey, p)
}

// GetClient returns a client of the actor's organisation.
func (s *Service) GetClient(ctx context.Context, a Actor, id string) (clients.Client, error) {
	c, err := s.client(ctx, a, id)
	return c, s.read(ctx, a, audit.Event{Action: "client.viewed", ClientID: id}, err)
}

// client loads a client of the actor's organisation; any other is not found.
func (s *Service) client(ctx context.Context, a Actor, id string) (clients.Client, error) {
	c, err := s.Clients.Get(ctx, id)
	if errors.Is(err, database.ErrNotFound) || (err == nil && c.OrgID != a.OrgID) {
		return clients.Client{}, notFound("client")
	}
	return c, err
}

func clientEvent(action string, c clients.Client) audit.Event {
	return audit.Event{Action: action, OrgID: c.OrgID, ClientID: c.ID, Details: map[string]any{"name": c.Name}}
}

// CreateClient registers a client in the actor's organisation. It returns the secret, shown
// once, for clients that authenticate with one ("" otherwise).
func (s *Service) CreateClient(ctx context.Context, a Actor, spec clients.Spec) (clients.Client, string, error) {
	e := audit.Event{Action: "client.created", Details: map[string]any{"name": spec.Name}}
	if spec.OrgID != "" && spec.OrgID != a.OrgID {
		return clients.Client{}, "", s.done(ctx, a, e, invalid("org_id", "Clients are created in your own organisation."), false)
	}
	spec.OrgID = a.OrgID
	c, secret, err := clients.New(spec, s.ClientSecrets, s.now())
	if err != nil {
		return clients.Client{}, "", s.done(ctx, a, e, clientError(err), false)
	}
	err = s.change(ctx, a, clientEvent("client.created", c), func(ctx context.Context) error {
		return clientError(s.Clients.Create(ctx, c))
	})
	if err != nil {
		return clients.Client{}, "", err
	}
	return c, secret, nil
}

// UpdateClient applies edit to the client's spec and stores the result (clients.Revise: the
// organisation and type stay). A client switched to a secret method is issued a secret,
// returned once.
func (s *Service) UpdateClient(ctx context.Context, a Actor, id string, edit func(*clients.Spec)) (clients.Client, string, error) {
	e := audit.Event{Action: "client.updated", ClientID: id}
	c, err := s.client(ctx, a, id)
	if err != nil {
		return clients.Client{}, "", s.done(ctx, a, e, err, false)
	}
	spec := c.Spec()
	edit(&spec)
	next, err := clients.Revise(c, spec, s.now())
	if err != nil {
		return clients.Client{}, "", s.done(ctx, a, e, clientError(err), false)
	}
	var secret string
	err = s.change(ctx, a, clientEvent("client.updated", next), func(ctx context.Context) error {
		if err := s.Clients.Update(ctx, next); err != nil {
			return err
		}
		if next.UsesSecret() && len(next.SecretHash) == 0 {
			secret, next.SecretHash = clients.NewSecret(s.ClientSecrets)
			return s.Clients.SetSecretHash(ctx, id, next.SecretHash, s.now())
		}
		return nil
	})
	if err != nil {
		return clients.Client{}, "", err
	}
	return next, secret, nil
}

// DeleteClient removes a client and every token issued to it.
func (s *Service) DeleteClient(ctx context.Context, a Actor, id string) (clients.Client, error) {
	c, err := s.client(ctx, a, id)
	if err != nil {
		return c, s.done(ctx, a, audit.Event{Action: "client.deleted", ClientID: id}, err, false)
	}
	return c, s.change(ctx, a, clientEvent("client.deleted", c), func(ctx context.Context) error {
		return s.Clients.Delete(ctx, id)
	})
}

// RotateClientSecret gives a client a new secret, returned once; the old one stops working at
// once.
func (s *Service) RotateClientSecret(ctx context.Context, a Actor, id string) (string, error) {
	e := audit.Event{Action: "client.secret_rotated", ClientID: id}
	c, err := s.client(ctx, a, id)
	if err == nil && !c.UsesSecret() {
		err = conflict(CodeNoSecret, "", "This client authenticates with "+c.TokenEndpointAuthMethod+" and has no secret.")
	}
	if err != nil {
		return "", s.done(ctx, a, e, err, false)
	}
	secret, hash := clients.NewSecret(s.ClientSecrets)
	err = s.change(ctx, a, clientEvent("client.secret_rotated", c), func(ctx context.Context) error {
		return s.Clients.SetSecretHash(ctx, id, hash, s.now())
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// clientFields names the JSON fields of the API where they differ from the client metadata
// names clients.ValidationError uses.
var clientFields = map[string]string{
	"redirect_uri":             "redirect_uris",
	"post_logout_redirect_uri": "post_logout_redirect_uris",
	"can_introspect":           "introspect",
}

// clientError turns a client validation error into an *Error naming the field.
func clientError(err error) error {
	var ve *clients.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	field := ve.Field
	if f, ok := clientFields[field]; ok {
		field = f
	}
	return &Error{Kind: KindInvalid, Code: CodeInvalid, Field: field, Message: ve.Error()}
}
