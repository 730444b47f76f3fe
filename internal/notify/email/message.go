package email

import (
	"bytes"
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Message is one notification e-mail. Callers (the notify package) must put
// only PHI-free text in it: the clinic name and a link, never message
// content. All fields are validated by [Sender.Send] before it connects.
type Message struct {
	// To is the single recipient, "user@example.org" or with a display
	// name. Quoted local parts, non-ASCII addresses and any control
	// character are refused.
	To string
	// Subject is a non-empty single line of at most 250 bytes of UTF-8;
	// CR, LF and other control characters are refused (no header injection).
	Subject string
	// Text is the plain-text UTF-8 body, at most 64 KiB. Lines end in LF or
	// CRLF; other control characters except TAB are refused.
	Text string
	// MessageID is a stable identifier so that a retried notification is
	// recognisable as the same message: "id" or "id@domain" (dot-atom text,
	// at most 200 bytes, optionally in angle brackets). Without "@domain"
	// the From domain is appended. Empty means a random ID (retries are
	// then not recognisable).
	MessageID string
}

const (
	maxSubjectBytes   = 250
	maxTextBytes      = 64 << 10
	maxMessageIDBytes = 200
)

var errBadAddress = errors.New("bad address")

// compose validates m and renders it to the exact bytes sent after DATA.
func (s *Sender) compose(m Message) (raw []byte, to *mail.Address, err error) {
	if to, err = parseAddress(m.To); err != nil {
		return nil, nil, invalidMessage("recipient address is invalid")
	}
	switch {
	case m.Subject == "":
		return nil, nil, invalidMessage("subject is empty")
	case len(m.Subject) > maxSubjectBytes:
		return nil, nil, invalidMessage("subject is too long")
	case !utf8.ValidString(m.Subject):
		return nil, nil, invalidMessage("subject is not valid UTF-8")
	case strings.ContainsFunc(m.Subject, isControl):
		return nil, nil, invalidMessage("subject contains CR, LF or another control character")
	}
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	switch {
	case strings.TrimSpace(text) == "":
		return nil, nil, invalidMessage("text is empty")
	case len(m.Text) > maxTextBytes:
		return nil, nil, invalidMessage("text is too long")
	case !utf8.ValidString(text):
		return nil, nil, invalidMessage("text is not valid UTF-8")
	case strings.ContainsFunc(text, func(r rune) bool { return r != '\n' && r != '\t' && isControl(r) }):
		return nil, nil, invalidMessage("text contains a control character")
	}
	id, err := s.messageID(m.MessageID)
	if err != nil {
		return nil, nil, err
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent(),
		gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDateWithValue(s.now())
	msg.SetMessageIDWithValue(id)
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, text)
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, nil, invalidMessage("rendering failed")
	}
	return buf.Bytes(), to, nil
}

// messageID returns the Message-ID value without angle brackets.
func (s *Sender) messageID(id string) (string, error) {
	if id == "" {
		return randomID() + "@" + s.domain(), nil
	}
	if strings.HasPrefix(id, "<") && strings.HasSuffix(id, ">") {
		id = id[1 : len(id)-1]
	}
	left, right, hasAt := strings.Cut(id, "@")
	if len(id) > maxMessageIDBytes || !dotAtom(left) || (hasAt && !dotAtom(right)) {
		return "", invalidMessage("message ID is malformed")
	}
	if !hasAt {
		id += "@" + s.domain()
	}
	return id, nil
}

func (s *Sender) domain() string {
	return s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
}

// parseAddress accepts "user@example.org" or "Name <user@example.org>" and
// refuses anything whose addr-spec could confuse an SMTP envelope
// (quoted local parts, spaces, angle brackets, non-ASCII, control chars).
func parseAddress(s string) (*mail.Address, error) {
	if s == "" || len(s) > 512 || !utf8.ValidString(s) || strings.ContainsFunc(s, isControl) {
		return nil, errBadAddress
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, errBadAddress
	}
	if !validAddrSpec(a.Address) || strings.ContainsFunc(a.Name, isControl) {
		return nil, errBadAddress
	}
	return a, nil
}

// validAddrSpec checks local@domain: a dot-atom local part of at most 64
// bytes and an LDH host name, 254 bytes in all.
func validAddrSpec(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at < 1 || at > 64 || at == len(a)-1 || len(a) > 254 || !dotAtom(a[:at]) {
		return false
	}
	for _, label := range strings.Split(a[at+1:], ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(isAlnum(c) || c == '-') {
				return false
			}
		}
	}
	return true
}

// dotAtom reports whether s is an RFC 5322 dot-atom-text.
func dotAtom(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if c := part[i]; !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", rune(c)) {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isControl matches C0 controls (CR, LF, TAB, NUL...), DEL and C1 controls.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}
