package email

import (
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
)

// wantHeaders is the complete header set of a notification: anything else
// in a rendered message would be an injected header.
var wantHeaders = []string{
	"Auto-Submitted", "Content-Transfer-Encoding", "Content-Type", "Date",
	"From", "Message-Id", "Mime-Version", "Subject", "To",
}

func fuzzSender(f *testing.F) *Sender {
	s, err := New(Config{Host: "smtp.example.org", From: "Clínica Lakeside <no-reply@lakeside.example>"})
	if err != nil {
		f.Fatal(err)
	}
	s.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	return s
}

// FuzzMessageHeaders checks that whatever the caller puts in To, Subject,
// Text and MessageID, the rendered message either is refused with
// ErrInvalidMessage or has exactly the expected headers, with To and
// Subject round-tripping; CR or LF in a header field is always refused.
func FuzzMessageHeaders(f *testing.F) {
	s := fuzzSender(f)
	f.Add("paciente@example.org", "Nuevo mensaje seguro", "Tiene un nuevo mensaje seguro.\n", "id-1")
	f.Add("paciente@example.org", "Hola\r\nBcc: evil@example.org", "x", "")
	f.Add("José <a@b.example>", "=?utf-8?q?x?= ünïcödé "+strings.Repeat("ñ", 80), "línea\r\n.\r\n..\n", "<a.b@c>")
	f.Add("a@b.example\nBcc: c@d.example", "s", "t", "x\r\nY: z")
	f.Add(`"x> NOTIFY=NEVER"@b.example`, "s", "t", "")
	f.Add("=?utf-8?q?Eve=0D=0ABcc:_x@y.example?= <a@b.example>", "s", "t", "")
	f.Fuzz(func(t *testing.T, to, subject, text, id string) {
		raw, addr, err := s.compose(Message{To: to, Subject: subject, Text: text, MessageID: id})
		if strings.ContainsAny(to+subject+id, "\r\n") && err == nil {
			t.Fatalf("CR/LF in a header field accepted: to=%q subject=%q id=%q", to, subject, id)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) || !errors.Is(err, ErrPermanent) {
				t.Fatalf("unexpected error class: %v", err)
			}
			if strings.Contains(to, "@") && strings.Contains(err.Error(), to) {
				t.Fatalf("error %q quotes the recipient", err)
			}
			return
		}
		m, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatalf("rendered message does not parse: %v\n%q", err, raw)
		}
		var keys []string
		for k, v := range m.Header {
			if len(v) != 1 {
				t.Errorf("header %s appears %d times", k, len(v))
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, wantHeaders) {
			t.Fatalf("headers = %v, want %v\n%q", keys, wantHeaders, raw)
		}
		gotTo, err := m.Header.AddressList("To")
		if err != nil || len(gotTo) != 1 || gotTo[0].Address != addr.Address {
			t.Fatalf("To = %v (%v), want %q", gotTo, err, addr.Address)
		}
		if !strings.Contains(subject, "=?") {
			got, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			if err != nil || strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(subject), " ") {
				t.Fatalf("Subject = %q (%v), want %q", got, err, subject)
			}
		}
		body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
		if err != nil {
			t.Fatalf("body: %v", err)
		}
		if got, want := strings.ReplaceAll(string(body), "\r\n", "\n"), strings.ReplaceAll(text, "\r\n", "\n"); got != want {
			t.Fatalf("body = %q, want %q", got, want)
		}
	})
}
