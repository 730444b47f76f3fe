package server

import "testing"

func TestRecentSet(t *testing.T) {
	s := newRecentSet(3)
	for _, k := range []string{"a", "b", "c"} {
		if !s.add(k) {
			t.Fatalf("%s reported as seen", k)
		}
	}
	if s.add("a") || s.add("c") {
		t.Fatal("a repeated key was reported new")
	}
	if !s.add("d") { // forgets a, the oldest
		t.Fatal("d reported as seen")
	}
	if !s.add("a") {
		t.Fatal("a was not forgotten after three newer keys")
	}
	if s.add("d") {
		t.Fatal("d forgotten too early")
	}
}
