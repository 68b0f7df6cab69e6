package apps

import (
	"strings"
	"testing"
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
