package server

import (
	"net/http"
	"slices"

	"sotto"
)

// reauthField is the form field that carries the current password to a
// page's sensitive form post.
const reauthField = "current_password"

// reauthPage is the confirmation page a sensitive form post gets without
// fresh proof: it asks for the current password and posts the same form
// again (its other fields carried along, hidden) to the same address.
// Error is a message id.
type reauthPage struct {
	Action, Error string
	Fields        []hiddenField
}

// hiddenField is one form field carried along by the confirmation page.
type hiddenField struct{ Name, Value string }

// freshPage adapts h, a staff page's form post that changes the viewer's
// own sign-in factors, to need fresh authentication as freshAuthed does
// for the API: the form may carry current_password; without it, a
// sign-in within freshAuthWindow stands in. Otherwise the viewer gets the
// confirmation page (403; a wrong password 401, too many tries 429), and
// the refusal is audited under action.
func (s *Server) freshPage(action string, h authedFunc) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error {
		if err := parseForm(w, r); err != nil {
			return err
		}
		err := s.requireFreshAuth(w, r, c, r.PostForm.Get(reauthField), true, action)
		if err == nil {
			r.PostForm.Del(reauthField)
			r.Form.Del(reauthField)
			return h(w, r, c)
		}
		page := reauthPage{Action: r.URL.Path}
		status := http.StatusForbidden
		switch sotto.ErrorCode(err) {
		case "reauth_required":
		case "invalid_credentials":
			status, page.Error = http.StatusUnauthorized, "reauth.err_password"
		case "rate_limited":
			status, page.Error = http.StatusTooManyRequests, "login.err_rate_limited"
		default:
			return err
		}
		names := make([]string, 0, len(r.PostForm))
		for name := range r.PostForm {
			if name != reauthField {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			for _, v := range r.PostForm[name] {
				page.Fields = append(page.Fields, hiddenField{Name: name, Value: v})
			}
		}
		return s.renderPage(w, status, "reauth", s.staffView(r, c, "title.reauth", "", page))
	}
}
