package jsonappend_test

import (
	"encoding/json"
	"testing"

	"github.com/patientaccess/gateway/internal/jsonappend"
)

// inputs are every ASCII byte, a few runes and invalid UTF-8.
func inputs() []string {
	in := []string{"", "plain", "\u2028\u2029", "é🙂", "\xff", "a\xc3", "\xed\xa0\x80", "a<b>&c\"d\\e\u2028f\xffg"}
	for c := range 0x80 {
		in = append(in, string(rune(c)), "x"+string(rune(c))+"y")
	}
	return in
}

// TestStringMatchesEncodingJSON: String writes what json.Marshal writes.
func TestStringMatchesEncodingJSON(t *testing.T) {
	for _, in := range inputs() {
		want, _ := json.Marshal(in)
		if got := jsonappend.String([]byte("pre"), in); string(got) != "pre"+string(want) {
			t.Errorf("%q: %s, want pre%s", in, got, want)
		}
	}
}

// TestField: an empty value is left out; any other is a member.
func TestField(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{"", "{"},
		{"x<y", `{,"n":"x\u003cy"`},
	} {
		if got := jsonappend.Field([]byte("{"), "n", c.value); string(got) != c.want {
			t.Errorf("Field(%q) = %s, want %s", c.value, got, c.want)
		}
	}
}

// FuzzString: whatever the string, String writes what json.Marshal writes.
func FuzzString(f *testing.F) {
	for _, in := range inputs() {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, _ := json.Marshal(in)
		if got := jsonappend.String(nil, in); string(got) != string(want) {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	})
}
