package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// ErrNoSTARTTLS is returned when TLS is "starttls" and the server does not offer STARTTLS: the
// message is not sent rather than sent in clear text.
var ErrNoSTARTTLS = errors.New("the SMTP server does not offer STARTTLS; refusing to send in clear text")

// smtpSender delivers each message on its own connection; links are rare enough that pooling
// connections is not worth the state.
type smtpSender struct {
	cfg  Config
	from *mail.Address
	addr string
	log  *slog.Logger
}

var _ Sender = (*smtpSender)(nil)

func newSMTPSender(c Config, log *slog.Logger) (*smtpSender, error) {
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("smtp-from: %w", err)
	}
	return &smtpSender{cfg: c, from: from, addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), log: log}, nil
}

func (s *smtpSender) tlsConfig() *tls.Config {
	var tc *tls.Config
	if s.cfg.TLSConfig != nil {
		tc = s.cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = s.cfg.Host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return tc
}

// Send delivers m. The whole exchange is bounded by Config.Timeout and by ctx.
func (s *smtpSender) Send(ctx context.Context, m Message) error {
	to, err := m.validate()
	if err != nil {
		return err
	}
	raw, err := buildMessage(s.from, to, m, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.deliver(ctx, to.Address, raw); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return fmt.Errorf("mail: send to %s via %s: %w", to.Address, s.addr, err)
	}
	s.log.InfoContext(ctx, "email sent", slog.String("to", to.Address), slog.String("subject", m.Subject))
	return nil
}

func (s *smtpSender) deliver(ctx context.Context, rcpt string, msg []byte) error {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	// net/smtp has no context: closing the socket when ctx ends (deadline or cancellation)
	// unblocks whatever read or write is in flight. The raw socket is closed, not a tls.Conn,
	// whose Close would first try to write a close_notify alert.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	defer raw.Close()
	conn := raw
	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(raw, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}

	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return err
	}
	if err := c.Hello(s.cfg.LocalName); err != nil {
		return err
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return ErrNoSTARTTLS
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.cfg.Username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok || !hasWord(mechs, "PLAIN") {
			return fmt.Errorf("the server does not offer AUTH PLAIN (offers %q)", mechs)
		}
		if err := c.Auth(plainAuth{user: s.cfg.Username, pass: s.cfg.Password, host: s.cfg.Host}); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// Closing the data writer waits for the server's reply: this is where it accepts the message.
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The message is accepted; a failed QUIT does not make it unsent.
	_ = c.Quit()
	return nil
}

// plainAuth is AUTH PLAIN (RFC 4616). Unlike smtp.PlainAuth, which only trusts the literal names
// localhost, 127.0.0.1 and ::1, it uses the same loopback rule as Config.Validate.
type plainAuth struct{ user, pass, host string }

func (a plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(a.host) {
		return "", nil, errors.New("refusing to send credentials over an unencrypted connection")
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge during AUTH PLAIN")
	}
	return nil, nil
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}
