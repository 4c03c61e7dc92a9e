package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestLogSenderMarksMessageNotSent(t *testing.T) {
	var buf bytes.Buffer
	s, err := New(Config{}, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compose(KindEnrollment, "ann@example.com", Data{DisplayName: "Ann", URL: "https://id.example.com/enroll/tok-456"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Level   string `json:"level"`
		Msg     string `json:"msg"`
		Sent    *bool  `json:"email_sent"`
		To      string `json:"to"`
		Subject string `json:"subject"`
		Text    string `json:"text"`
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if rec.Level != "WARN" || rec.Msg != "email not sent: no SMTP configured; message follows" {
		t.Errorf("logged %s %q", rec.Level, rec.Msg)
	}
	if rec.Sent == nil || *rec.Sent {
		t.Errorf("email_sent = %v, want false", rec.Sent)
	}
	if rec.To != "ann@example.com" || rec.Subject != m.Subject || rec.Text != m.Text {
		t.Errorf("logged to=%q subject=%q text=%q", rec.To, rec.Subject, rec.Text)
	}
	if !strings.Contains(rec.Text, "https://id.example.com/enroll/tok-456") {
		t.Error("the logged text lacks the link the operator must hand over")
	}

	buf.Reset()
	m.To = "ann@example.com\r\nBcc: eve@example.com"
	if err := s.Send(context.Background(), m); err == nil {
		t.Error("log sender accepted a recipient with a line break")
	}
	if buf.Len() != 0 {
		t.Errorf("refused message was logged: %s", buf.String())
	}
}
