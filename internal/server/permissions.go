package server

import (
	"net/http"

	"sotto"
	"sotto/internal/audit"
	"sotto/internal/store"
)

// permissionsBody is the JSON form of a permission matrix.
type permissionsBody struct {
	Permissions sotto.Permissions `json:"permissions"`
}

// getPermissions returns the organization's permission matrix (admins and
// compliance).
func (s *Server) getPermissions(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, func(ro sotto.Role) bool { return ro == sotto.RoleAdmin || ro == sotto.RoleCompliance }, sotto.AuditPermissionChange); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, permissionsBody{Permissions: c.perms})
	return nil
}

// putPermissions replaces the organization's permission matrix (admins
// only); the change is audited.
func (s *Server) putPermissions(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.requireRole(r, c, func(ro sotto.Role) bool { return ro == sotto.RoleAdmin }, sotto.AuditPermissionChange); err != nil {
		return err
	}
	var req permissionsBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.savePermissions(r, c, req.Permissions); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}

// savePermissions validates p and stores it as c's organization's matrix,
// audited as a permission change. Shared by the API and the admin console.
func (s *Server) savePermissions(r *http.Request, c *caller, p sotto.Permissions) error {
	if p == nil {
		return sotto.Errorf(sotto.KindInvalid, "permissions is required.")
	}
	err := s.db.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.SetPermissions(c.user.OrgID, p); err != nil {
			return err
		}
		ev := s.targetEvent(r, c, sotto.AuditPermissionChange, "org", c.user.OrgID, "")
		return audit.Append(tx, ev)
	})
	s.perms.forget(c.user.OrgID)
	return err
}
