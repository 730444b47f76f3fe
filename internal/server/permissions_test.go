package server

import (
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestPermissionChangeTakesEffect: an admin's matrix change applies to the
// next request at once (the cached matrix is dropped), bad matrices are
// refused, and the change is audited.
func TestPermissionChangeTakesEffect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		conv := req{method: "GET", path: "/api/v1/conversations/" + w.conv1.ID}
		w.must("nurse", conv, 200)
		p := sotto.DefaultPermissions()
		p[sotto.RoleNurse][sotto.CategoryGeneral] = []sotto.Action{sotto.ActionReply}
		before := auditCount(t, db)
		w.must("admin", jsonReq("PUT", "/api/v1/permissions", map[string]any{"permissions": p}), 200)
		if auditCount(t, db) <= before {
			t.Fatal("permission change not audited")
		}
		if r := w.do("nurse", conv); r.status != 403 || r.code() != "forbidden" {
			t.Fatalf("after revoking read: %d %s", r.status, r.raw)
		}
		bad := map[string]any{"permissions": map[string]any{"patient": map[string]any{"general": []string{"read"}}}}
		if r := w.do("admin", jsonReq("PUT", "/api/v1/permissions", bad)); r.status != 400 {
			t.Fatalf("matrix for patients accepted: %d %s", r.status, r.raw)
		}
		w.must("admin", jsonReq("PUT", "/api/v1/permissions", map[string]any{"permissions": sotto.DefaultPermissions()}), 200)
		w.must("nurse", conv, 200)
	})
}
