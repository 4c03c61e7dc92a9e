package main

import (
	"context"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/internal/mail"
)

// mailer delivers links to users by email when SMTP is configured and the user has an address;
// otherwise the caller shows the link (to the admin or operator who hands it over).
type mailer struct {
	sender mail.Sender
	smtp   bool
}

func newUserMailer(cfg Config, e *env) (*mailer, error) {
	s, err := newMailer(cfg, e.log)
	if err != nil {
		return nil, err
	}
	return &mailer{sender: s, smtp: cfg.Mail.Host != ""}, nil
}

// enrollment emails a new user their enrollment link and reports whether it did.
func (m *mailer) enrollment(ctx context.Context, org directory.Org, u directory.User, link string, validFor time.Duration) (bool, error) {
	if !m.smtp || u.Email == "" {
		return false, nil
	}
	msg, err := mail.Compose(mail.KindEnrollment, u.Email, mail.Data{OrgName: org.Name, DisplayName: u.DisplayName,
		Username: u.Username, URL: link, Expires: time.Now().Add(validFor)})
	if err != nil {
		return false, err
	}
	if err := m.sender.Send(ctx, msg); err != nil {
		return false, err
	}
	return true, nil
}
