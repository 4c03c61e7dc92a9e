package main

import (
	"encoding/json"
	"io"
	"log"
	"mime/quotedprintable"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// mailSink is a real SMTP server (emersion/go-smtp) on a loopback port that keeps every message
// it receives: the mail relay an operator would point Portcullis at.
type mailSink struct {
	port int
	mu   sync.Mutex
	msgs []sunkMail
}

type sunkMail struct {
	From string
	To   []string
	Data string // the message with quoted-printable soft line breaks undone
}

func startMailSink(t *testing.T) *mailSink {
	t.Helper()
	m := &mailSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: m}, nil }))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return m
}

// flags are the CLI flags that send through the sink (a loopback relay: no TLS).
func (m *mailSink) flags() []string {
	return []string{"--smtp-host", "127.0.0.1", "--smtp-port", strconv.Itoa(m.port), "--smtp-tls", "none",
		"--smtp-from", "Portcullis <no-reply@example.com>"}
}

func (m *mailSink) messages() []sunkMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sunkMail(nil), m.msgs...)
}

type sinkSession struct {
	sink *mailSink
	cur  sunkMail
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error { s.cur.From = from; return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	// Undo quoted-printable so a test can look for a link in the text.
	decoded, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(raw))))
	if err != nil {
		decoded = raw
	}
	s.cur.Data = string(decoded)
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, s.cur)
	s.sink.mu.Unlock()
	s.cur = sunkMail{}
	return nil
}
func (s *sinkSession) Reset()        { s.cur = sunkMail{} }
func (s *sinkSession) Logout() error { return nil }

// TestEnrollmentLinksByEmail: with SMTP configured, users create and users import email each new
// user their enrollment link; a user without an address gets theirs shown instead.
func TestEnrollmentLinksByEmail(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	sink := startMailSink(t)
	s.createOrg(t, "mailco", "mandatory")

	out, err := s.cli(append([]string{"users", "create", "--org", "mailco", "--username", "eve", "--display-name", "Eve",
		"--email", "eve@example.com", "--output", "json"}, sink.flags()...)...)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		EnrollmentURL string `json:"enrollment_url"`
		Emailed       bool   `json:"emailed"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || !created.Emailed {
		t.Fatalf("users create with SMTP: %q, %v", out, err)
	}
	msgs := sink.messages()
	if len(msgs) != 1 || msgs[0].To[0] != "eve@example.com" || !strings.Contains(msgs[0].Data, created.EnrollmentURL) ||
		!strings.Contains(msgs[0].Data, "Mailco Ltd") {
		t.Fatalf("the enrollment email: %+v", msgs)
	}

	res, err := s.importCSV(t, "mailco", "username,email\nfay,fay@example.com\ngus,\n", sink.flags()...)
	if err != nil || len(res.Created) != 2 {
		t.Fatalf("import with SMTP: %+v, %v", res, err)
	}
	for _, c := range res.Created {
		want := map[string]string{"fay": "email", "gus": "shown"}[c.Username]
		if c.Delivery != want || (want == "email") != (c.EnrollmentURL == "") {
			t.Fatalf("%s: delivery %q (link %q), want %s", c.Username, c.Delivery, c.EnrollmentURL, want)
		}
	}
	if msgs = sink.messages(); len(msgs) != 2 || msgs[1].To[0] != "fay@example.com" || !strings.Contains(msgs[1].Data, "/enroll/") {
		t.Fatalf("import emails: %+v", msgs)
	}
}
