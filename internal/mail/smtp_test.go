package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newSender(t *testing.T, c Config) Sender {
	t.Helper()
	s, err := New(c, quietLog())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func enrollmentMessage(t *testing.T) Message {
	t.Helper()
	m, err := Compose(KindEnrollment, "Ann Émile <ann@example.com>", Data{
		OrgName: "Café Ørsted", DisplayName: "Ann Émile", Username: "ann",
		URL: "https://id.example.com/enroll/tok-123?next=%2Faccount&x=1", Expires: time.Now().Add(72 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type parsedPart struct{ contentType, body string }

// parseReceived reads a received message with net/mail and mime/multipart, decoding each part's
// quoted-printable body itself so the test also checks the declared transfer encoding.
func parseReceived(t *testing.T, data []byte) (*mail.Message, []parsedPart) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []parsedPart
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part %q has Content-Transfer-Encoding %q", p.Header.Get("Content-Type"), cte)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, parsedPart{p.Header.Get("Content-Type"), string(body)})
	}
	return msg, parts
}

func TestSendSTARTTLSWithAuth(t *testing.T) {
	srv := startServer(t, modeSTARTTLS, false)
	s := newSender(t, Config{
		Host: "127.0.0.1", Port: srv.port, Username: testUser, Password: testPass,
		From: "Portcullis <no-reply@example.test>", TLSConfig: &tls.Config{RootCAs: srv.pool},
	})
	m := enrollmentMessage(t)
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, _, msgs := srv.snapshot()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if !got.tls || got.user != testUser {
		t.Errorf("message arrived with tls=%v user=%q, want TLS and %q", got.tls, got.user, testUser)
	}
	if got.from != "no-reply@example.test" || len(got.rcpts) != 1 || got.rcpts[0] != "ann@example.com" {
		t.Errorf("envelope from %q to %q", got.from, got.rcpts)
	}

	msg, parts := parseReceived(t, got.data)
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("Subject decodes to %q (%v), want %q", subject, err, m.Subject)
	}
	if raw := msg.Header.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?q?") {
		t.Errorf("non-ASCII Subject not RFC 2047 encoded: %q", raw)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Ann Émile" || to[0].Address != "ann@example.com" {
		t.Errorf("To = %v (%v)", to, err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "no-reply@example.test" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if d, err := msg.Header.Date(); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date = %v (%v)", d, err)
	}
	if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.test>") {
		t.Errorf("Message-ID = %q", id)
	}
	if msg.Header.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", msg.Header.Get("MIME-Version"))
	}

	if len(parts) != 2 {
		t.Fatalf("got %d parts, want text and HTML", len(parts))
	}
	want := []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}
	for i, p := range parts {
		if p.contentType != want[i] {
			t.Errorf("part %d is %q, want %q", i, p.contentType, want[i])
		}
	}
	link := "https://id.example.com/enroll/tok-123?next=%2Faccount&x=1"
	if !strings.Contains(parts[0].body, link) || !strings.Contains(parts[0].body, "Café Ørsted") {
		t.Errorf("text part lacks the link or the UTF-8 org name:\n%s", parts[0].body)
	}
	if !strings.Contains(parts[1].body, `href="`+strings.ReplaceAll(link, "&", "&amp;")+`"`) {
		t.Errorf("HTML part lacks the link:\n%s", parts[1].body)
	}
	if parts[0].body != strings.ReplaceAll(m.Text, "\n", "\r\n") {
		t.Errorf("text part changed in transit:\n%q\nwant\n%q", parts[0].body, m.Text)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srv := startServer(t, modeImplicit, false)
	s := newSender(t, Config{
		Host: "localhost", Port: srv.port, TLS: TLSImplicit, Username: testUser, Password: testPass,
		From: "no-reply@example.test", TLSConfig: &tls.Config{RootCAs: srv.pool},
	})
	if err := s.Send(context.Background(), enrollmentMessage(t)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, _, msgs := srv.snapshot(); len(msgs) != 1 || !msgs[0].tls {
		t.Fatalf("want one message over TLS, got %+v", msgs)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name    string
		mode    serverMode
		cfg     func(*Config, *testServer)
		msg     func(*Message)
		wantErr string
		is      error
	}{
		{name: "no STARTTLS offered", mode: modePlain, is: ErrNoSTARTTLS},
		{name: "untrusted certificate", mode: modeSTARTTLS,
			cfg: func(c *Config, _ *testServer) { c.TLSConfig = nil }, wantErr: "certificate"},
		{name: "certificate for another host", mode: modeSTARTTLS,
			cfg: func(c *Config, s *testServer) {
				c.TLSConfig = &tls.Config{RootCAs: s.pool, ServerName: "mx.other.test"}
			},
			wantErr: "certificate"},
		{name: "wrong password", mode: modeSTARTTLS,
			cfg: func(c *Config, _ *testServer) { c.Password = "wrong-password" }, wantErr: "auth"},
		{name: "recipient rejected", mode: modeSTARTTLS,
			msg: func(m *Message) { m.To = "nobody@example.com" }, wantErr: "550"},
		{name: "CRLF in recipient", mode: modeSTARTTLS,
			msg: func(m *Message) { m.To = "ann@example.com\r\nBcc: eve@example.com" }, wantErr: "line break"},
		{name: "LF in subject", mode: modeSTARTTLS,
			msg: func(m *Message) { m.Subject += "\nBcc: eve@example.com" }, wantErr: "line break"},
		{name: "not an address", mode: modeSTARTTLS,
			msg: func(m *Message) { m.To = "ann" }, wantErr: "not an email address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.mode, true)
			c := Config{Host: "127.0.0.1", Port: srv.port, Username: testUser, Password: testPass,
				From: "no-reply@example.test", TLSConfig: &tls.Config{RootCAs: srv.pool}}
			if tc.cfg != nil {
				tc.cfg(&c, srv)
			}
			m := enrollmentMessage(t)
			if tc.msg != nil {
				tc.msg(&m)
			}
			err := newSender(t, c).Send(context.Background(), m)
			switch {
			case err == nil:
				t.Fatal("Send succeeded, want an error")
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Fatalf("error %v, want %v", err, tc.is)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q does not mention %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), c.Password) {
				t.Errorf("error reveals the password: %v", err)
			}
			sessions, authTries, msgs := srv.snapshot()
			if len(msgs) != 0 {
				t.Errorf("server received %d messages, want none", len(msgs))
			}
			if tc.mode == modePlain && authTries != 0 {
				t.Errorf("credentials were offered over a plain connection (%d AUTH attempts)", authTries)
			}
			if tc.msg != nil && strings.Contains(tc.wantErr, "line break") && sessions != 0 {
				t.Errorf("a message with a line break in a header reached the server")
			}
		})
	}
}

// "none" is for a relay on this machine: it sends in clear text, AUTH included.
func TestSendNoneOnLoopback(t *testing.T) {
	srv := startServer(t, modePlain, true)
	s := newSender(t, Config{Host: "127.0.0.1", Port: srv.port, TLS: TLSNone,
		Username: testUser, Password: testPass, From: "no-reply@example.test"})
	if err := s.Send(context.Background(), enrollmentMessage(t)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, _, msgs := srv.snapshot(); len(msgs) != 1 || msgs[0].tls || msgs[0].user != testUser {
		t.Fatalf("want one plain-text authenticated message, got %+v", msgs)
	}
}

func TestSendPlainTextOnly(t *testing.T) {
	srv := startServer(t, modeSTARTTLS, false)
	s := newSender(t, Config{Host: "127.0.0.1", Port: srv.port, Username: testUser, Password: testPass,
		From: "no-reply@example.test", TLSConfig: &tls.Config{RootCAs: srv.pool}})
	m := Message{To: "ann@example.com", Subject: strings.Repeat("Réinitialisation du compte ", 6), Text: "Bonjour,\nvoici le lien.\n"}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	_, _, msgs := srv.snapshot()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	for _, line := range strings.Split(string(msgs[0].data), "\n") {
		if len(strings.TrimRight(line, "\r")) > 78 {
			t.Errorf("line longer than 78 characters: %q", line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(msgs[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if ct := msg.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	var dec mime.WordDecoder
	if subject, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || subject != m.Subject {
		t.Errorf("folded Subject decodes to %q (%v), want %q", subject, err, m.Subject)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if string(body) != "Bonjour,\r\nvoici le lien.\r\n" {
		t.Errorf("body = %q", body)
	}
}

// A server that accepts the connection and never answers must not hold Send past the timeout.
func TestSendTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	s := newSender(t, Config{Host: "127.0.0.1", Port: port, From: "no-reply@example.test", Timeout: 300 * time.Millisecond})
	start := time.Now()
	if err := s.Send(context.Background(), enrollmentMessage(t)); err == nil {
		t.Fatal("Send succeeded against a silent server")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %s with a 300ms timeout", d)
	}

	s = newSender(t, Config{Host: "127.0.0.1", Port: port, From: "no-reply@example.test"})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := s.Send(ctx, enrollmentMessage(t)); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("Send with an expiring context: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %s with a 300ms context", d)
	}
}
