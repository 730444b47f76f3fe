package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"sotto/internal/auth"
	"sotto/internal/store"
)

// exifCanary stands in for a photo's private metadata (a GPS position);
// the attachment core must strip it.
const exifCanary = "GPSLatitude=48.8584N"

// phonePhoto returns a small JPEG, as a phone camera would send it, with
// an Exif segment holding exifCanary.
func phonePhoto(t testing.TB) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 16, 12))
	for y := range 12 {
		for x := range 16 {
			img.Set(x, y, color.NRGBA{uint8(x * 15), uint8(y * 20), 90, 255})
		}
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	// A big-endian TIFF with an empty IFD0, then the canary text.
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00" + exifCanary)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(payload)+2))
	out := append([]byte{0xFF, 0xD8}, seg...)
	out = append(out, payload...)
	return append(out, enc.Bytes()[2:]...)
}

// formFile is a file a test posts with a form.
type formFile struct {
	name string
	data []byte
}

// postMultipart posts a multipart form (fields in order, then the file in
// the part "attachment") as the browser does for the portal's forms.
func (b *browserClient) postMultipart(path string, fields [][2]string, file *formFile) pageAnswer {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("attachment", file.name)
		_, _ = fw.Write(file.data)
	} else {
		// A form whose file input is left empty still sends the part.
		_, _ = mw.CreateFormFile("attachment", "")
	}
	_ = mw.Close()
	req, err := http.NewRequest("POST", b.base+path, &buf)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return pageAnswer{status: res.StatusCode, header: res.Header, body: string(raw)}
}

// signInAs gives b the session of world user key, as if they had signed in.
func (b *browserClient) signInAs(w *world, key string) {
	b.t.Helper()
	u, _ := url.Parse(b.base)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: w.newToken(key), Path: "/"}})
}

// setPassword gives world user key a password to sign in with.
func setPassword(t testing.TB, w *world, key, password string) {
	t.Helper()
	hash, err := auth.HashPassword(password, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	u := w.users[key]
	if err := w.db.Write(context.Background(), func(tx *store.Tx) error { return tx.SetPassword(u.OrgID, u.ID, hash, nil) }); err != nil {
		t.Fatal(err)
	}
}

// newConvID reads the conversation id a portal redirect names.
func newConvID(t *testing.T, p pageAnswer) string {
	t.Helper()
	m := regexp.MustCompile(`^/portal/c/([0-9a-f-]{36})`).FindStringSubmatch(p.header.Get("Location"))
	if p.status != 303 || m == nil {
		t.Fatalf("want a redirect to a new conversation, got %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	return m[1]
}

// convCount counts the conversations of patient id as staff see them.
func convCount(t *testing.T, w *world, patientID string) int {
	t.Helper()
	res := w.must("nurse", req{method: "GET", path: "/api/v1/conversations?patient_id=" + patientID}, 200)
	list, _ := res.body["conversations"].([]any)
	return len(list)
}

// auditCountOf counts the audit entries of action about patient id.
func auditCountOf(t *testing.T, db *store.DB, action, patientID string) int {
	t.Helper()
	var n int
	err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND patient_id = $2`, action, patientID).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// mustContain fails unless body holds every want.
func mustContain(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(body, s) {
			t.Fatalf("%s lacks %q:\n%s", what, s, body)
		}
	}
}

// mustNotContain fails if body holds any of bad.
func mustNotContain(t *testing.T, what, body string, bad ...string) {
	t.Helper()
	for _, s := range bad {
		if strings.Contains(body, s) {
			t.Fatalf("%s shows %q:\n%s", what, s, body)
		}
	}
}

// inviteToken has staff invite patient id through the API.
func inviteToken(t *testing.T, w *world, patientID string) string {
	t.Helper()
	res := w.must("front_desk", req{method: "POST", path: "/api/v1/patients/" + patientID + "/invite"}, 201)
	tok, _ := res.body["token"].(string)
	if tok == "" {
		t.Fatalf("no invitation token: %s", res.raw)
	}
	return tok
}
