package apps

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestEventBounded(t *testing.T) {
	huge := strings.Repeat("x", 5<<20)
	tests := []struct {
		name  string
		in    string
		max   int
		check func(string) bool
	}{
		{"short kept", "demo-app", MaxEventField, func(s string) bool { return s == "demo-app" }},
		{"exactly the bound kept", strings.Repeat("a", MaxEventField), MaxEventField, func(s string) bool { return len(s) == MaxEventField && !strings.HasSuffix(s, "…") }},
		{"5 MiB cut", huge, MaxEventField, func(s string) bool { return len(s) <= MaxEventField && strings.HasSuffix(s, "…") }},
		{"cut on a rune boundary", strings.Repeat("é", 200), MaxEventField, func(s string) bool { return len(s) <= MaxEventField && utf8.ValidString(s) }},
		{"control characters replaced", "app\n2025-01-01 fake line\x00", MaxEventField, func(s string) bool { return !strings.ContainsAny(s, "\n\x00") }},
		{"invalid UTF-8 replaced", "a\xffb", MaxEventField, func(s string) bool { return s == "a\uFFFDb" }},
		{"reason bound", huge, MaxEventReason, func(s string) bool { return len(s) <= MaxEventReason && len(s) > MaxEventField }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Event{ClientID: tt.in, Reason: tt.in}.Bounded()
			got := e.ClientID
			if tt.max == MaxEventReason {
				got = e.Reason
			}
			if !tt.check(got) {
				t.Fatalf("bounded to %d bytes: %.200q", len(got), got)
			}
		})
	}
	types := make([]string, 1000)
	for i := range types {
		types[i] = huge[:300]
	}
	e := Event{ResourceTypes: types}.Bounded()
	if len(e.ResourceTypes) != MaxEventResourceTypes || len(e.ResourceTypes[0]) > MaxEventField {
		t.Fatalf("resource types bounded to %d entries of %d bytes", len(e.ResourceTypes), len(e.ResourceTypes[0]))
	}
	if len(types[0]) != 300 {
		t.Fatal("Bounded changed the caller's slice")
	}
}

// TestBoundPrintableASCIIAsBefore: bound keeps a printable ASCII string
// within the bound as it is without looking at its runes, as the rune by
// rune replacement would have kept it; any other byte still goes the
// long way.
func TestBoundPrintableASCIIAsBefore(t *testing.T) {
	slow := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return utf8.RuneError
			}
			return r
		}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	}
	for c := 0; c < 256; c++ {
		for _, s := range []string{string([]byte{byte(c)}), "fhir." + string([]byte{byte(c)}) + "read"} {
			if got, want := bound(s, MaxEventField), slow(s); got != want {
				t.Errorf("bound(%q) = %q, want %q", s, got, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = bound("ory-demo-app_1 Patient/alice-1001", MaxEventField) }); n != 0 {
		t.Errorf("bound of a printable ASCII field allocates %.0f times", n)
	}
}
