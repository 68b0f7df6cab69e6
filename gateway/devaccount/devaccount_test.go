package devaccount

import (
	"strings"
	"testing"
)

// TestNormalizeEmail: one address, trimmed and lower-cased, is the key of
// an account; anything else is refused, so that "Dev@App.example" and
// "dev@app.example" are one account and a display name or a list is none.
func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"dev@app.example":          "dev@app.example",
		"  Dev@App.Example ":       "dev@app.example",
		"Dana <dev@app.example>":   "",
		"dev@app.example, x@y.org": "",
		"not an address":           "",
		"":                         "",
		"dev@":                     "",
		strings.Repeat("a", 250) + "@app.example": "",
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
	if IDFor("dev@app.example") == IDFor("other@app.example") || !strings.HasPrefix(IDFor("dev@app.example"), "dev-") {
		t.Fatal("account ids do not tell addresses apart")
	}
}

// FuzzNormalizeEmail: whatever a sign-up form sends, a normalized address
// is stable, lower-case, bounded and free of spaces and control characters.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"dev@app.example", " A@B.C ", "<x@y>", "a\x00@b.c", "\"q u\"@x.org"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizeEmail(s)
		if got == "" {
			return
		}
		if NormalizeEmail(got) != got || got != strings.ToLower(got) || len(got) > 254 ||
			strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("NormalizeEmail(%q) = %q", s, got)
		}
	})
}
