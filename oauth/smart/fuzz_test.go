package smart

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks the grammar's invariants on any input: no panic; a
// parsed scope re-parses from Raw to an equal Scope; every parseable scope
// covers itself and is found by Strategy; a malformed one covers nothing.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"patient/*.read", "patient/Observation.rs?category=a|b", "user/Patient.cruds",
		"system/*.*", "openid", "launch/patient", "patient/Observation.rcs", "", "patient/A.r?x=1&x=2",
		"patient/Observation.rs?&", "patient/X.rs?=1", "café", "patient/*.write"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := Parse(raw)
		if err != nil {
			checkMalformed(t, raw, err)
			return
		}
		again, err := Parse(s.Raw)
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-parse of %q differs: %+v vs %+v (%v)", raw, again, s, err)
		}
		if s.Raw != raw || strings.ContainsAny(raw, " \t\r\n") {
			t.Fatalf("Parse(%q) kept Raw %q", raw, s.Raw)
		}
		if !Covers(s, s) || !Strategy([]string{raw}, raw) {
			t.Fatalf("%q does not cover itself", raw)
		}
		if l, err := ParseList(raw); err != nil || len(l) != 1 || !reflect.DeepEqual(l[0], s) {
			t.Fatalf("ParseList(%q) = %+v, %v", raw, l, err)
		}
		if Describe(raw, nil) == "" || Category(raw) == "" {
			t.Fatalf("%q has no description or category", raw)
		}
		if s.IsResource() {
			checkResource(t, s)
		} else if s.Special != raw {
			t.Fatalf("Parse(%q) Special = %q", raw, s.Special)
		}
	})
}

func checkMalformed(t *testing.T, raw string, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse(%q) error %v does not wrap ErrMalformed", raw, err)
	}
	if Strategy([]string{raw}, raw) || Permits([]string{raw}, ContextPatient, "Patient", Read) {
		t.Fatalf("malformed %q grants something", raw)
	}
}

func checkResource(t *testing.T, s Scope) {
	t.Helper()
	if !isContext(string(s.Context)) || !validType(s.ResourceType) || s.Special != "" {
		t.Fatalf("Parse(%q) = %+v", s.Raw, s)
	}
	if s.Interactions == 0 || s.Interactions&^allInteractions != 0 {
		t.Fatalf("Parse(%q) interactions %b", s.Raw, s.Interactions)
	}
	if s.Restricted() && (!s.V2 || s.Permits(s.Context, "Patient", Read) || s.Permits(s.Context, "Patient", Search)) {
		t.Fatalf("restricted %q is v1 or permits without its query", s.Raw)
	}
	if !s.Restricted() && s.Query != nil {
		t.Fatalf("Parse(%q) kept an empty restriction", s.Raw)
	}
	typ := s.ResourceType
	if typ == "*" {
		typ = "Observation"
	}
	if !s.Restricted() && !s.Permits(s.Context, typ, s.Interactions) {
		t.Fatalf("%q does not permit its own interactions", s.Raw)
	}
}
