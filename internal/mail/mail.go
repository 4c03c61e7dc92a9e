package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"
)

// TLS modes for Config.TLS.
const (
	// TLSStartTLS upgrades a plain connection with STARTTLS (RFC 3207) and refuses to send when
	// the server does not offer it. The default.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (RFC 8314 section 3.3, usually port 465).
	TLSImplicit = "tls"
	// TLSNone sends in clear text; allowed only to a loopback host (a local relay).
	TLSNone = "none"
)

// DefaultTimeout bounds one whole delivery (connect, TLS, AUTH, DATA) when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Config holds the SMTP settings. The zero value (no Host) means "no SMTP: log instead".
type Config struct {
	// Host is the SMTP server's name or IP address; empty means no SMTP.
	Host string
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port int
	// TLS is "starttls" (default), "tls" or "none"; see the TLS* constants.
	TLS string
	// Username and Password, when set, authenticate with AUTH PLAIN (RFC 4616), which is only
	// ever sent over TLS or to a loopback host.
	Username, Password string
	// From is the RFC 5322 sender, e.g. "Portcullis <no-reply@example.com>"; required with Host.
	From string
	// TLSConfig optionally replaces the TLS settings (private CAs, tests). ServerName defaults
	// to Host and MinVersion to TLS 1.2.
	TLSConfig *tls.Config
	// Timeout bounds one delivery; DefaultTimeout when zero.
	Timeout time.Duration
	// LocalName is the name sent in EHLO; the machine's host name when empty.
	LocalName string
}

// Validate reports the first problem in the settings in one sentence naming the configuration
// key (smtp-host, smtp-port, smtp-tls, smtp-username, smtp-password, smtp-from, smtp-timeout).
func (c Config) Validate() error {
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fmt.Errorf("smtp-tls must be %q, %q or %q, not %q", TLSStartTLS, TLSImplicit, TLSNone, c.TLS)
	}
	if c.Host == "" {
		// Credentials without a server are almost certainly a forgotten smtp-host; sending
		// nothing while the operator believes mail goes out would be worse than refusing.
		if c.Username != "" {
			return errors.New("smtp-username is set but smtp-host is empty; set smtp-host or remove smtp-username")
		}
		if c.Password != "" {
			return errors.New("smtp-password is set but smtp-host is empty; set smtp-host or remove smtp-password")
		}
		return nil
	}
	if !validHost(c.Host) {
		return fmt.Errorf("smtp-host %q is not a host name or IP address (put the port in smtp-port)", c.Host)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("smtp-port %d is out of range (1-65535, or 0 for the default)", c.Port)
	}
	if c.TLS == TLSNone && !isLoopback(c.Host) {
		return fmt.Errorf("smtp-tls %q is only allowed when smtp-host is a loopback address (localhost, 127.0.0.1, ::1), not %q; use %q or %q", TLSNone, c.Host, TLSStartTLS, TLSImplicit)
	}
	if c.Username != "" && c.Password == "" {
		return errors.New("smtp-password is empty but smtp-username is set; AUTH needs both")
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("smtp-username is empty but smtp-password is set; AUTH needs both")
	}
	// AUTH PLAIN separates its fields with NUL (RFC 4616 section 2); never echo the values.
	if strings.ContainsAny(c.Username, "\x00\r\n") {
		return errors.New("smtp-username must not contain NUL or line breaks")
	}
	if strings.ContainsAny(c.Password, "\x00\r\n") {
		return errors.New("smtp-password must not contain NUL or line breaks")
	}
	if c.From == "" {
		return errors.New("smtp-from is required when smtp-host is set, e.g. \"Portcullis <no-reply@example.com>\"")
	}
	if strings.ContainsAny(c.From, "\r\n") {
		return errors.New("smtp-from must not contain line breaks")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("smtp-from %q is not one RFC 5322 address: %v", c.From, err)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("smtp-timeout %s must not be negative", c.Timeout)
	}
	if c.LocalName != "" && !validHost(c.LocalName) {
		return fmt.Errorf("smtp-local-name %q is not a host name", c.LocalName)
	}
	return nil
}

// withDefaults fills in the documented defaults; call it on a validated Config.
func (c Config) withDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case TLSImplicit:
			c.Port = 465
		case TLSNone:
			c.Port = 25
		default:
			c.Port = 587
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.LocalName == "" {
		c.LocalName = "localhost"
		if h, err := os.Hostname(); err == nil && validHost(h) {
			c.LocalName = h
		}
	}
	return c
}

// Message is one email to one person. Text is required; HTML is optional (without it the email
// is plain text only).
type Message struct {
	To, Subject, Text, HTML string
}

// validate refuses what would let a caller's data rewrite the headers (header injection).
func (m Message) validate() (*mail.Address, error) {
	if strings.ContainsAny(m.To, "\r\n") {
		return nil, errors.New("mail: recipient contains a line break")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, errors.New("mail: subject contains a line break")
	}
	if m.To == "" {
		return nil, errors.New("mail: no recipient")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("mail: recipient %q is not an email address: %v", m.To, err)
	}
	if m.Subject == "" || m.Text == "" {
		return nil, errors.New("mail: subject and text are required")
	}
	return to, nil
}

// Sender delivers one message. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// New validates c and returns an SMTP sender, or, when c.Host is empty, a sender that writes
// each message to log at WARN marked as not sent. log may be nil (slog.Default).
func New(c Config, log *slog.Logger) (Sender, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if c.Host == "" {
		return logSender{log: log}, nil
	}
	return newSMTPSender(c.withDefaults(), log)
}

// LogNotSent is the log message of the log sender; operators search for it to find links.
const LogNotSent = "email not sent: no SMTP configured; message follows"

// logSender stands in for SMTP when none is configured. It logs the text body, links included,
// on purpose: the operator hands those links to the person by other means.
type logSender struct{ log *slog.Logger }

func (s logSender) Send(ctx context.Context, m Message) error {
	if _, err := m.validate(); err != nil {
		return err
	}
	s.log.WarnContext(ctx, LogNotSent,
		slog.Bool("email_sent", false),
		slog.String("to", m.To),
		slog.String("subject", m.Subject),
		slog.String("text", m.Text))
	return nil
}

// isLoopback reports whether host names this machine: "localhost" or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validHost accepts an IP address or a DNS name (letters, digits, '-', '.', '_').
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasPrefix(h, "-") {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}
