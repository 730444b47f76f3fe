package server

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"sotto"
	"sotto/internal/notify"
	"sotto/internal/store"
	"sotto/internal/web"
)

// The notifications page: the practice's notification wording, the
// server's channels, who is on call and the failed notifications (dead
// letters). It holds ids, kinds and statuses only, never patient data.

// adminNotifyView is the notifications page.
type adminNotifyView struct {
	adminBase
	Kinds    []tplKindView
	Channels []channelRow
	OnCall   onCallView
	Failed   []deadLetterRow
}

// tplKindView is one notification kind with its text in each language.
type tplKindView struct {
	Kind, LabelID string
	Vars          string // the allowed variables, as they are written: "{{practice_name}}, {{link}}"
	Forms         []tplFormView
}

// tplFormView is the form of one kind in one language.
type tplFormView struct {
	ID, Kind, Lang, LangID, Text string
	Custom, NeedsBAA             bool
	RefusedBy                    []string // message ids of configured channels that would refuse it
	UpdatedAt                    *time.Time
	Error                        string // why the posted text was refused, in the viewer's words
}

// channelRow is one of the server's channels.
type channelRow struct {
	LabelID         string
	Configured, BAA bool
	Refuses         []string // the templates it would refuse: "New message · Spanish"
}

// onCallView is the on-call part: who is on call now, and the form.
type onCallView struct {
	Set              bool
	Name, Phone      string
	UpdatedAt        time.Time
	Staff            []adminPerson // active staff, for the picker
	UserID, NewPhone string        // the posted values, after a refusal
	Error            string
}

// deadLetterRow is one failed notification: ids, kinds and codes only.
type deadLetterRow struct {
	ID, ChannelID, KindID, ErrorCode string
	Attempts                         int
	At                               time.Time
}

// adminNotifyPageSize bounds the dead letters the page lists.
const adminNotifyPageSize = 50

// adminNotifications shows the notifications page.
func (s *Server) adminNotifications(w http.ResponseWriter, r *http.Request, c *caller) error {
	v, err := s.notifyView(r, c)
	if err != nil {
		return err
	}
	return s.renderNotify(w, r, c, http.StatusOK, v)
}

// renderNotify writes the notifications page with status.
func (s *Server) renderNotify(w http.ResponseWriter, r *http.Request, c *caller, status int, v *adminNotifyView) error {
	return s.renderPage(w, status, "admin-notifications", s.staffView(r, c, "admin.title_notifications", "admin", v))
}

// notifyView builds the notifications page for c: the templates through
// the API's core, the channels, the on-call setting, and the dead letters
// (listed through the API's core, so audited as its list is).
func (s *Server) notifyView(r *http.Request, c *caller) (*adminNotifyView, error) {
	ctx := r.Context()
	l := s.locale(r)
	v := &adminNotifyView{adminBase: newAdminBase(r, "notifications")}
	views, err := s.templateViews(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	refused := map[string][]string{}
	for _, tv := range views {
		i := slices.IndexFunc(v.Kinds, func(k tplKindView) bool { return k.Kind == tv.Kind })
		if i < 0 {
			vars := make([]string, len(tv.Vars))
			for j, name := range tv.Vars {
				vars[j] = "{{" + name + "}}"
			}
			v.Kinds = append(v.Kinds, tplKindView{Kind: tv.Kind, LabelID: "admin.tkind." + tv.Kind, Vars: strings.Join(vars, ", ")})
			i = len(v.Kinds) - 1
		}
		f := tplFormView{ID: "tpl-" + tv.Kind + "-" + tv.Lang, Kind: tv.Kind, Lang: tv.Lang, LangID: "lang." + tv.Lang,
			Text: tv.Text, Custom: tv.Custom, NeedsBAA: tv.NeedsBAA, UpdatedAt: tv.UpdatedAt}
		for _, ch := range tv.RefusedBy {
			f.RefusedBy = append(f.RefusedBy, "admin.channel."+ch)
			refused[ch] = append(refused[ch], l.T("admin.tkind."+tv.Kind)+" · "+l.T("lang."+tv.Lang))
		}
		v.Kinds[i].Forms = append(v.Kinds[i].Forms, f)
	}
	for _, ch := range s.channels() {
		v.Channels = append(v.Channels, channelRow{LabelID: "admin.channel." + ch.Channel, Configured: ch.Configured,
			BAA: ch.BAAOnFile, Refuses: refused[ch.Channel]})
	}
	if v.OnCall, err = s.onCallView(r, c); err != nil {
		return nil, err
	}
	failed, err := s.notificationsOf(r, c, store.NotificationFilter{Status: sotto.NotifyFailed, Limit: adminNotifyPageSize})
	if err != nil {
		return nil, err
	}
	for _, n := range failed {
		v.Failed = append(v.Failed, deadLetterRow{ID: n.ID, ChannelID: "admin.channel." + n.Channel, KindID: "admin.nkind." + string(n.Kind),
			ErrorCode: n.ErrorCode, Attempts: n.Attempts, At: n.UpdatedAt})
	}
	return v, nil
}

// onCallView describes who is on call and the active staff who may be.
func (s *Server) onCallView(r *http.Request, c *caller) (onCallView, error) {
	ctx := r.Context()
	var v onCallView
	staff, err := s.db.StaffUsers(ctx, c.user.OrgID)
	if err != nil {
		return v, err
	}
	oc, err := s.db.OnCall(ctx, c.user.OrgID)
	switch {
	case err == nil:
		v.Set, v.Phone, v.UpdatedAt, v.UserID, v.NewPhone = true, oc.Phone, oc.UpdatedAt, oc.UserID, oc.Phone
	case sotto.ErrorKind(err) != sotto.KindNotFound:
		return v, err
	}
	for _, m := range staff {
		if m.ID == oc.UserID {
			v.Name = m.Name
		}
		if !m.Disabled {
			v.Staff = append(v.Staff, adminPerson{ID: m.ID, Name: m.Name, RoleID: "role." + string(m.Role)})
		}
	}
	return v, nil
}

// adminTemplateForm saves the organization's own text for a kind and
// language (op=save) or returns it to the default (op=restore), through
// the API's cores. A refused text is answered on the form, kept as typed,
// with what to do in plain words.
func (s *Server) adminTemplateForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	kind, lang, err := templateKey(f.Get("kind"), f.Get("lang"))
	if err != nil {
		return err
	}
	if f.Get("op") == "restore" {
		if err := s.restoreTemplate(r, c, kind, lang); err != nil {
			return err
		}
		return adminDone(w, r, "/admin/notifications", "template_restored", "#tpl-"+string(kind)+"-"+lang)
	}
	text := f.Get("text")
	_, err = s.saveTemplate(r, c, kind, lang, text)
	if sotto.ErrorKind(err) == sotto.KindInvalid {
		v, verr := s.notifyView(r, c)
		if verr != nil {
			return verr
		}
		for i := range v.Kinds {
			for j := range v.Kinds[i].Forms {
				if fv := &v.Kinds[i].Forms[j]; fv.Kind == string(kind) && fv.Lang == lang {
					fv.Text, fv.Error = text, templateProblem(s.locale(r), kind, text, err)
				}
			}
		}
		return s.renderNotify(w, r, c, http.StatusBadRequest, v)
	}
	if err != nil {
		return err
	}
	return adminDone(w, r, "/admin/notifications", "template_saved", "#tpl-"+string(kind)+"-"+lang)
}

// placeholderRE finds the {{name}} placeholders of a template text.
var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// templateProblem says, in l's language, why text was refused as a
// template of kind (err is the parser's refusal): a variable the kind
// does not allow is named, with the ones it does.
func templateProblem(l *web.Locale, kind notify.Kind, text string, err error) string {
	allowed := kind.Vars()
	for i, name := range allowed {
		allowed[i] = "{{" + name + "}}"
	}
	list := strings.Join(allowed, ", ")
	switch {
	case sotto.ErrorCode(err) == "template_variable_not_allowed":
		for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
			if !slices.Contains(kind.Vars(), m[1]) {
				return l.T("admin.tpl_err_var", "{{"+m[1]+"}}", list)
			}
		}
	case strings.TrimSpace(text) == "":
		return l.T("admin.tpl_err_empty", list)
	}
	return l.T("admin.tpl_err_other", sotto.ErrorMessage(err), list)
}

// adminOnCallForm sets who is on call (op=set, user_id, phone) or that
// nobody is (op=clear), through the API's cores. A refused setting is
// answered on the form.
func (s *Server) adminOnCallForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	switch f.Get("op") {
	case "clear":
		if err := s.clearOnCall(r, c); err != nil {
			return err
		}
		return adminDone(w, r, "/admin/notifications", "on_call_cleared", "#on-call")
	case "set":
	default:
		return sotto.Errorf(sotto.KindInvalid, "The form asked for an unknown change.")
	}
	req := onCallBody{UserID: f.Get("user_id"), Phone: strings.TrimSpace(f.Get("phone"))}
	_, err := s.setOnCall(r, c, req)
	if errors.Is(err, errOnCallUser) || errors.Is(err, errOnCallPhone) {
		v, verr := s.notifyView(r, c)
		if verr != nil {
			return verr
		}
		v.OnCall.UserID, v.OnCall.NewPhone, v.OnCall.Error = req.UserID, req.Phone, "admin.oncall_err_phone"
		if errors.Is(err, errOnCallUser) {
			v.OnCall.Error = "admin.oncall_err_user"
		}
		return s.renderNotify(w, r, c, http.StatusBadRequest, v)
	}
	if err != nil {
		return err
	}
	return adminDone(w, r, "/admin/notifications", "on_call_set", "#on-call")
}

// adminRetryForm re-queues a dead letter through the API's core.
func (s *Server) adminRetryForm(w http.ResponseWriter, r *http.Request, c *caller) error {
	if _, err := s.retryDeadLetter(r, c, r.PathValue("id")); err != nil {
		return err
	}
	return adminDone(w, r, "/admin/notifications", "retried", "#dead-letters")
}
