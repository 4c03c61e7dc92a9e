package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// buildMessage renders m as an RFC 5322 message: UTF-8 bodies in quoted-printable (RFC 2045),
// text then HTML in multipart/alternative (RFC 2046 section 5.1.4: the last part is the richest),
// and a Subject in RFC 2047 encoded-words when it is not plain ASCII. Lines end in CRLF.
func buildMessage(from, to *mail.Address, m Message, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	id, err := messageID(from.Address)
	if err != nil {
		return nil, err
	}
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	// mail.Address.String encodes a non-ASCII display name per RFC 2047 and quotes the rest.
	header("From", from.String())
	header("To", to.String())
	header("Subject", encodeSubject(m.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", id)
	header("MIME-Version", "1.0")
	// RFC 3834 section 5: tells auto-responders (vacation replies) not to answer.
	header("Auto-Submitted", "auto-generated")

	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}

	mw := multipart.NewWriter(&b)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(pw, p.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(s)); err != nil {
		return err
	}
	return qp.Close()
}

// encodeSubject leaves printable ASCII alone and otherwise writes RFC 2047 Q encoded-words, each
// short enough that, folded onto its own line, no header line passes the 78 characters RFC 5322
// section 2.1.1 asks for ("Subject: " plus one word on the first line). A character's bytes never
// straddle two words (RFC 2047 section 5, rule 3).
func encodeSubject(s string) string {
	if mime.QEncoding.Encode("utf-8", s) == s {
		return s
	}
	const prefix, suffix, maxWord = "=?utf-8?q?", "?=", 68
	var words []string
	var w strings.Builder
	w.WriteString(prefix)
	for _, r := range s {
		var piece string
		switch {
		case r == ' ':
			piece = "_"
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!*+-/", r)):
			piece = string(r)
		default:
			var buf [utf8.UTFMax]byte
			for _, b := range buf[:utf8.EncodeRune(buf[:], r)] {
				piece += fmt.Sprintf("=%02X", b)
			}
		}
		if w.Len()+len(piece)+len(suffix) > maxWord {
			words = append(words, w.String()+suffix)
			w.Reset()
			w.WriteString(prefix)
		}
		w.WriteString(piece)
	}
	words = append(words, w.String()+suffix)
	return strings.Join(words, "\r\n ")
}

// messageID makes a globally unique id (RFC 5322 section 3.6.4) on the sender's domain.
func messageID(fromAddr string) (string, error) {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	domain := "portcullis.invalid"
	if at := strings.LastIndexByte(fromAddr, '@'); at >= 0 && at < len(fromAddr)-1 {
		domain = fromAddr[at+1:]
	}
	return fmt.Sprintf("<%s@%s>", hex.EncodeToString(r[:]), domain), nil
}
