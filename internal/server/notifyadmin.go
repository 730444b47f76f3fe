package server

import (
	"context"
	"net/http"
	"slices"
	"time"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/jobs"
	"sotto/internal/notify"
	"sotto/internal/store"
)

// templateView is one notification template as the admin API shows it:
// the organization's own text when it wrote one, else the shipped default.
type templateView struct {
	Kind        string     `json:"kind"`
	Lang        string     `json:"lang"`
	Text        string     `json:"text"`
	Custom      bool       `json:"custom"`
	DefaultText string     `json:"default_text"`
	Vars        []string   `json:"vars"`      // the variables this kind allows
	NeedsBAA    bool       `json:"needs_baa"` // uses {{date}} or {{time}}
	RefusedBy   []string   `json:"refused_by,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
	UpdatedBy   string     `json:"updated_by,omitempty"`
}

// templateList answers GET /api/v1/notification-templates.
type templateList struct {
	Templates []templateView       `json:"templates"`
	Channels  []jobs.ChannelStatus `json:"channels"`
}

// channels lists the server's channels (none configured without a notifier).
func (s *Server) channels() []jobs.ChannelStatus {
	if n := s.cfg.Notify.Notifier; n != nil {
		return n.ChannelStatus()
	}
	return nil
}

// view describes template t of the organization (own nil: the default).
func (s *Server) templateView(kind notify.Kind, lang string, own *store.NotifyTemplate) (templateView, error) {
	def, err := notify.Defaults(kind, lang)
	if err != nil {
		return templateView{}, err
	}
	v := templateView{Kind: string(kind), Lang: lang, Text: def.Text(), DefaultText: def.Text(), Vars: kind.Vars()}
	t := def
	if own != nil {
		if t, err = notify.ParseTemplate(kind, lang, own.Text); err != nil {
			return templateView{}, err
		}
		at := own.UpdatedAt
		v.Text, v.Custom, v.UpdatedAt, v.UpdatedBy = own.Text, true, &at, own.UpdatedBy
	}
	v.NeedsBAA = t.NeedsBAA()
	for _, ch := range s.channels() {
		if ch.Configured && ch.Channel != notify.ChannelLog && notify.Allowed(t, notify.Channel{Name: ch.Channel, BAAOnFile: ch.BAAOnFile}) != nil {
			v.RefusedBy = append(v.RefusedBy, ch.Channel)
		}
	}
	return v, nil
}

// listTemplates shows every kind in every shipped language, the
// organization's own text where it has one, and the channels.
func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	views, err := s.templateViews(r.Context(), c.user.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, templateList{Templates: views, Channels: s.channels()})
	return nil
}

// templateViews describes every kind in every shipped language for
// organization orgID. Shared by the API and the admin console.
func (s *Server) templateViews(ctx context.Context, orgID string) ([]templateView, error) {
	own, err := s.db.NotifyTemplates(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := []templateView{}
	for _, kind := range notify.Kinds() {
		for _, lang := range notify.Languages() {
			var mine *store.NotifyTemplate
			if i := slices.IndexFunc(own, func(t store.NotifyTemplate) bool { return t.Kind == string(kind) && t.Lang == lang }); i >= 0 {
				mine = &own[i]
			}
			v, err := s.templateView(kind, lang, mine)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// templatePath reads and checks the kind and language of the path.
func templatePath(r *http.Request) (notify.Kind, string, error) {
	return templateKey(r.PathValue("kind"), r.PathValue("lang"))
}

// templateKey checks a template's kind and language.
func templateKey(k, lang string) (notify.Kind, string, error) {
	kind := notify.Kind(k)
	if !kind.Valid() {
		return "", "", &sotto.Error{Kind: sotto.KindNotFound, Msg: "Unknown notification kind."}
	}
	if !slices.Contains(notify.Languages(), lang) {
		return "", "", &sotto.Error{Kind: sotto.KindNotFound, Msg: "Templates exist in en and es."}
	}
	return kind, lang, nil
}

// templateBody is the body of PUT /api/v1/notification-templates/{kind}/{lang}.
type templateBody struct {
	Text string `json:"text"`
}

// putTemplate stores the organization's own text for a kind and language,
// refusing any variable the kind does not allow.
func (s *Server) putTemplate(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	kind, lang, err := templatePath(r)
	if err != nil {
		return err
	}
	var req templateBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	v, err := s.saveTemplate(r, c, kind, lang, req.Text)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// saveTemplate parses text as the organization's own template of kind in
// lang (refusing any variable the kind does not allow) and stores it,
// audited as a configuration change. Shared by the API and the admin
// console.
func (s *Server) saveTemplate(r *http.Request, c *caller, kind notify.Kind, lang, text string) (templateView, error) {
	t, err := notify.ParseTemplate(kind, lang, text)
	if err != nil {
		return templateView{}, err
	}
	own := store.NotifyTemplate{Kind: string(kind), Lang: lang, Text: t.Text(), UpdatedBy: c.user.ID}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.SetNotifyTemplate(c.user.OrgID, own.Kind, lang, own.Text, c.user.ID); err != nil {
			return err
		}
		own.UpdatedAt = tx.Now()
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditConfigChange, "notify_template", own.Kind+"/"+lang, ""))
	})
	if err != nil {
		return templateView{}, err
	}
	return s.templateView(kind, lang, &own)
}

// deleteTemplate returns a kind and language to the shipped default.
func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	kind, lang, err := templatePath(r)
	if err != nil {
		return err
	}
	if err := s.restoreTemplate(r, c, kind, lang); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// restoreTemplate returns the organization's template of kind in lang to
// the shipped default (not found when it has no own text), audited as a
// configuration change. Shared by the API and the admin console.
func (s *Server) restoreTemplate(r *http.Request, c *caller, kind notify.Kind, lang string) error {
	return s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.DeleteNotifyTemplate(c.user.OrgID, string(kind), lang); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditConfigChange, "notify_template", string(kind)+"/"+lang, ""))
	})
}

// onCallBody is the body of PUT /api/v1/on-call and, as on_call, the
// answer of GET.
type onCallBody struct {
	UserID string `json:"user_id"`
	Phone  string `json:"phone,omitempty"`
}

// getOnCall shows who is on call for urgent items (on_call null: nobody).
func (s *Server) getOnCall(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	oc, err := s.db.OnCall(r.Context(), c.user.OrgID)
	switch sotto.ErrorKind(err) {
	case "":
		writeJSON(w, http.StatusOK, map[string]any{"on_call": oc})
	case sotto.KindNotFound:
		writeJSON(w, http.StatusOK, map[string]any{"on_call": nil})
	default:
		return err
	}
	return nil
}

// putOnCall makes an active staff member the one on call, with the number
// urgent items are texted to (optional: push only without it).
func (s *Server) putOnCall(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	var req onCallBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	oc, err := s.setOnCall(r, c, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"on_call": oc})
	return nil
}

// errOnCallUser and errOnCallPhone refuse an on-call setting.
var (
	errOnCallUser  = &sotto.Error{Kind: sotto.KindInvalid, Msg: "user_id must name an active staff member."}
	errOnCallPhone = &sotto.Error{Kind: sotto.KindInvalid, Msg: "phone must be a phone number in E.164 form, e.g. +15005550100."}
)

// setOnCall makes req.UserID, an active staff member of c's organization,
// the one on call, reached at req.Phone (optional), audited as a
// configuration change. Shared by the API and the admin console.
func (s *Server) setOnCall(r *http.Request, c *caller, req onCallBody) (store.OnCall, error) {
	if !store.ValidID(req.UserID) {
		return store.OnCall{}, errOnCallUser
	}
	u, err := s.db.User(r.Context(), c.user.OrgID, req.UserID)
	if sotto.ErrorKind(err) == sotto.KindNotFound || (err == nil && (!u.Role.IsStaff() || u.Disabled)) {
		return store.OnCall{}, errOnCallUser
	}
	if err != nil {
		return store.OnCall{}, err
	}
	oc := store.OnCall{UserID: u.ID}
	if req.Phone != "" {
		if oc.Phone, err = sotto.NormalizePhone(req.Phone); err != nil {
			return store.OnCall{}, errOnCallPhone
		}
	}
	err = s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.SetOnCall(c.user.OrgID, oc, c.user.ID); err != nil {
			return err
		}
		oc.UpdatedAt, oc.UpdatedBy = tx.Now(), c.user.ID
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditConfigChange, "on_call", u.ID, ""))
	})
	if err != nil {
		return store.OnCall{}, err
	}
	if n := s.cfg.Notify.Notifier; n != nil {
		n.ForgetStaffAlerts(c.user.OrgID)
	}
	return oc, nil
}

// deleteOnCall records that nobody is on call.
func (s *Server) deleteOnCall(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, isAdmin, sotto.AuditConfigChange); err != nil {
		return err
	}
	if err := s.clearOnCall(r, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clearOnCall records that nobody is on call, audited as a configuration
// change. Shared by the API and the admin console.
func (s *Server) clearOnCall(r *http.Request, c *caller) error {
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.ClearOnCall(c.user.OrgID); err != nil {
			return err
		}
		return audit.Append(tx, s.targetEvent(r, c, sotto.AuditConfigChange, "on_call", c.user.OrgID, ""))
	})
	if err != nil {
		return err
	}
	if n := s.cfg.Notify.Notifier; n != nil {
		n.ForgetStaffAlerts(c.user.OrgID)
	}
	return nil
}
