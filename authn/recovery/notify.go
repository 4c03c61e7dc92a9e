package recovery

import (
	"context"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/authn/directory"
	"github.com/portcullis-id/portcullis/authn/passkey"
	"github.com/portcullis-id/portcullis/internal/httpx"
	"github.com/portcullis-id/portcullis/internal/mail"
)

// codeLinkCreator begins the CreatedBy of the link a recovery code leads to.
const codeLinkCreator = "recovery-code"

// Emailable reports whether u may be emailed: only a verified address, so that a recovery link or
// notice never goes to an address nobody has proven to be theirs.
func Emailable(u directory.User) bool { return u.Email != "" && u.EmailVerified }

// StartedMessage is the email telling u that recovery was started. Delivered by email, it carries
// the recovery link itself (mail.KindRecovery); shown to the admin, it only tells the user, so
// that someone starting a recovery behind their back does not go unnoticed.
func StartedMessage(org directory.Org, u directory.User, delivery, link string, expires time.Time) (mail.Message, error) {
	if delivery == DeliverEmail {
		return mail.Compose(mail.KindRecovery, u.Email, mail.Data{OrgName: org.Name, DisplayName: u.DisplayName,
			Username: u.Username, URL: link, Expires: expires})
	}
	name := oneLine(u.DisplayName)
	if name == "" {
		name = oneLine(u.Username)
	}
	orgName := oneLine(org.Name)
	if orgName == "" {
		orgName = "Portcullis"
	}
	text := "Hello " + name + ",\n\n" +
		"An administrator started the recovery of your " + orgName + " account (" + oneLine(u.Username) + ") and\n" +
		"will hand you a recovery link in person. Your passkeys on other devices may have been removed and\n" +
		"you have been signed out everywhere.\n\n" +
		"If you did not ask for this, tell your administrator now: someone may be trying to get into your\n" +
		"account.\n"
	return mail.Message{To: u.Email, Subject: "Recovery of your " + orgName + " account was started", Text: text}, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// notifyCompleted emails the user that a passkey was added by recovery, in the background: a slow
// mail server must not hold up their sign-in.
func (h *Handler) notifyCompleted(ctx context.Context, u directory.User, cred passkey.Credential, at time.Time) {
	if h.Mail == nil || !Emailable(u) {
		return
	}
	org, err := h.Users.GetOrg(ctx, u.OrgID)
	if err != nil {
		httpx.Logger(ctx).Error("recovery email: load organisation", "err", err)
		return
	}
	msg, err := mail.Compose(mail.KindPasskeyAdded, u.Email, mail.Data{OrgName: org.Name, DisplayName: u.DisplayName,
		Username: u.Username, URL: h.Issuer + "/account", Device: cred.Provider + " (account recovery)", When: at})
	if err != nil {
		httpx.Logger(ctx).Error("recovery email: compose", "err", err)
		return
	}
	log := httpx.Logger(ctx)
	go func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := h.Mail.Send(sctx, msg); err != nil {
			log.Error("recovery email: send", "user_id", u.ID, "err", err)
		}
	}()
}
