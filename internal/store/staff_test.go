package store_test

import (
	"context"
	"slices"
	"testing"

	"sotto"
	"sotto/internal/store"
	"sotto/internal/store/storetest"
)

// TestStaffUsersListsAnOrgsStaff: the listing holds the organization's
// staff only (no patients, no other organization's users), decrypted,
// ordered by name, with their authenticator state and departments; a
// member can be taken out of a department, never across organizations.
func TestStaffUsersListsAnOrgsStaff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := mustOrg(t, db, "Org A"), mustOrg(t, db, "Org B")
		dept := &sotto.Department{OrgID: a.ID, Name: "Test Nursing"}
		zed := &sotto.User{OrgID: a.ID, Role: sotto.RoleNurse, Email: "zed.nurse@example.test", Name: "Zed Testnurse", Disabled: true}
		amy := &sotto.User{OrgID: a.ID, Role: sotto.RoleAdmin, Email: "amy.admin@example.test", Name: "amy Testadmin"}
		pat := &sotto.User{OrgID: a.ID, Role: sotto.RolePatient, Email: "pat@example.test", Name: "Pat Testpatient"}
		other := &sotto.User{OrgID: b.ID, Role: sotto.RoleAdmin, Email: "other@example.test", Name: "Other Testadmin"}
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.InsertDepartment(dept); err != nil {
				return err
			}
			if err := tx.InsertUser(zed, store.Credentials{}); err != nil {
				return err
			}
			if err := tx.InsertUser(amy, store.Credentials{TOTPSecret: []byte("test-totp-secret-0001")}); err != nil {
				return err
			}
			for _, u := range []*sotto.User{pat, other} {
				if err := tx.InsertUser(u, store.Credentials{}); err != nil {
					return err
				}
			}
			return tx.AddDepartmentMember(dept.ID, zed.ID)
		})
		if err != nil {
			t.Fatal(err)
		}
		list, err := db.StaffUsers(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != amy.ID || list[1].ID != zed.ID {
			t.Fatalf("staff of org A = %+v, want amy then zed", list)
		}
		if got := list[0]; got.Name != amy.Name || got.Email != amy.Email || !got.MFAEnrolled || got.Disabled || len(got.DepartmentIDs) != 0 {
			t.Fatalf("amy = %+v", got)
		}
		if got := list[1]; got.Email != zed.Email || got.MFAEnrolled || !got.Disabled || !slices.Equal(got.DepartmentIDs, []string{dept.ID}) {
			t.Fatalf("zed = %+v", got)
		}
		if bl, err := db.StaffUsers(ctx, b.ID); err != nil || len(bl) != 1 || bl[0].ID != other.ID {
			t.Fatalf("staff of org B = %+v, %v", bl, err)
		}
		if empty, err := db.StaffUsers(ctx, store.NewID()); err != nil || empty == nil || len(empty) != 0 {
			t.Fatalf("unknown org = %v, %v; want an empty list", empty, err)
		}

		remove := func(org, d, u string) error {
			return db.Write(ctx, func(tx *store.Tx) error { return tx.RemoveDepartmentMember(org, d, u) })
		}
		if err := remove(b.ID, dept.ID, zed.ID); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("removal from another org: %v, want not found", err)
		}
		if err := remove(a.ID, dept.ID, other.ID); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("removing another org's user: %v, want not found", err)
		}
		if err := remove(a.ID, dept.ID, "not-an-id"); sotto.ErrorKind(err) != sotto.KindNotFound {
			t.Fatalf("malformed id: %v, want not found", err)
		}
		if members, _ := db.DepartmentMembers(ctx, dept.ID); len(members) != 1 {
			t.Fatalf("a refused removal changed the members: %v", members)
		}
		for range 2 { // removing a non-member is not an error
			if err := remove(a.ID, dept.ID, zed.ID); err != nil {
				t.Fatal(err)
			}
		}
		if members, _ := db.DepartmentMembers(ctx, dept.ID); len(members) != 0 {
			t.Fatalf("members after removal = %v", members)
		}
	})
}
