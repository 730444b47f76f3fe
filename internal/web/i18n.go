package web

import (
	"fmt"
	"maps"
	"strings"
	"time"
)

// Languages sotto's pages speak; the first is the fallback.
var Languages = []string{"en", "es"}

// catalogs maps a language to its messages, keyed by message id.
var catalogs = map[string]map[string]string{"en": catalogEN, "es": catalogES}

// The patient portal's, the compliance pages' and the admin console's
// messages live in their own files; they join the catalogs once, before
// any page renders.
func init() {
	maps.Copy(catalogEN, catalogPortalEN)
	maps.Copy(catalogES, catalogPortalES)
	maps.Copy(catalogEN, catalogAdminEN)
	maps.Copy(catalogES, catalogAdminES)
	maps.Copy(catalogEN, catalogComplianceEN)
	maps.Copy(catalogES, catalogComplianceES)
}

// Locale is how one viewer sees a page: their language, their time zone
// and the moment the page is rendered (for relative times).
type Locale struct {
	Lang string
	Zone *time.Location
	Now  time.Time
}

// NewLocale returns a Locale for lang (falling back to English when sotto
// does not speak it) in zone (UTC when nil) at now.
func NewLocale(lang string, zone *time.Location, now time.Time) *Locale {
	if _, ok := catalogs[lang]; !ok {
		lang = Languages[0]
	}
	if zone == nil {
		zone = time.UTC
	}
	return &Locale{Lang: lang, Zone: zone, Now: now}
}

// T returns message id in l's language, falling back to English and then
// to the id itself; with args, the message is a fmt format.
func (l *Locale) T(id string, args ...any) string {
	msg, ok := catalogs[l.Lang][id]
	if !ok {
		if msg, ok = catalogEN[id]; !ok {
			msg = id
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// PickLanguage chooses the page language: preferred (a user's stored
// choice) when sotto speaks it, else the first spoken language of an
// Accept-Language header, else English.
func PickLanguage(preferred, acceptLanguage string) string {
	if _, ok := catalogs[preferred]; ok {
		return preferred
	}
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(q) == "q=0" {
			continue
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if _, ok := catalogs[base]; ok {
			return base
		}
	}
	return Languages[0]
}

// LoadZone returns the IANA time zone name, or UTC when name is empty or
// unknown. Names come from the browser (a cookie set by app.js).
func LoadZone(name string) *time.Location {
	if name == "" || len(name) > 64 || strings.Contains(name, "..") {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}
