package sotto

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorHelpers(t *testing.T) {
	cause := errors.New("disk full at row zq")
	wrapped := fmt.Errorf("outer: %w", WrapError(KindConflict, "store.X", "Already exists.", cause))
	if ErrorKind(wrapped) != KindConflict || ErrorCode(wrapped) != "conflict" || ErrorMessage(wrapped) != "Already exists." {
		t.Fatalf("kind %s code %s msg %q", ErrorKind(wrapped), ErrorCode(wrapped), ErrorMessage(wrapped))
	}
	if !errors.Is(wrapped, cause) {
		t.Fatal("cause not reachable through Unwrap")
	}
	internal := &Error{Kind: KindInternal, Msg: "zq secret detail", Err: cause}
	if strings.Contains(ErrorMessage(internal), "zq") || strings.Contains(ErrorMessage(cause), "zq") {
		t.Fatal("internal detail reaches the client message")
	}
	if ErrorKind(cause) != KindInternal || ErrorKind(nil) != "" || ErrorCode(&Error{Kind: KindInvalid, Code: "mfa_required"}) != "mfa_required" {
		t.Fatal("kind or code fallback wrong")
	}
}

func TestValidation(t *testing.T) {
	good := []string{"a@example.test", "first.last+tag@sub.example.org"}
	bad := []string{"", "plain", "Name <a@example.test>", "a@localhost", "a@b@example.test", strings.Repeat("a", 250) + "@example.test"}
	for _, e := range good {
		if err := ValidateEmail(e); err != nil {
			t.Errorf("%q rejected: %v", e, err)
		}
	}
	for _, e := range bad {
		err := ValidateEmail(e)
		if ErrorKind(err) != KindInvalid {
			t.Errorf("%q accepted (err %v)", e, err)
		}
		if e != "" && strings.Contains(ErrorMessage(err), e) {
			t.Errorf("message repeats the address %q", e)
		}
	}
	for _, n := range []string{"", "   ", "a\x00b", strings.Repeat("x", MaxNameLen+1), "\xff"} {
		if ValidateName("name", n) == nil {
			t.Errorf("name %q accepted", n)
		}
	}
	if !RoleNurse.IsStaff() || RolePatient.IsStaff() || Role("surgeon").Valid() || !RoleProxy.Valid() {
		t.Fatal("role predicates wrong")
	}
}

func FuzzValidateEmail(f *testing.F) {
	f.Add("a@example.test")
	f.Add("\"quoted\"@example.test")
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateEmail(s)
		if err != nil && ErrorKind(err) != KindInvalid {
			t.Fatalf("kind %s", ErrorKind(err))
		}
		if err != nil && len(s) > 3 && strings.Contains(ErrorMessage(err), s) {
			t.Fatal("message echoes input")
		}
	})
}
