package oauth

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/ory/fosite"
)

func TestCheckParams(t *testing.T) {
	many := func(n int) string { return strings.TrimSpace(strings.Repeat("patient/Patient.rs ", n)) }
	for _, tc := range []struct {
		name string
		form url.Values
		want *fosite.RFC6749Error // nil: accepted
	}{
		{"plain", url.Values{"scope": {"openid patient/*.rs"}, "state": {"s"}}, nil},
		{"no parameters", url.Values{}, nil},
		{"state twice", url.Values{"state": {"a", "b"}}, fosite.ErrInvalidRequest},
		{"the same state twice", url.Values{"state": {"a", "a"}}, fosite.ErrInvalidRequest},
		{"token twice", url.Values{"token": {"a", "b"}}, fosite.ErrInvalidRequest},
		{"an unknown parameter twice is ignored", url.Values{"utm_source": {"a", "b"}}, nil},
		{"resource may repeat (RFC 8707)", url.Values{"resource": {"https://a", "https://b"}}, nil},
		{"50 scopes", url.Values{"scope": {many(50)}}, nil},
		{"51 scopes", url.Values{"scope": {many(51)}}, fosite.ErrInvalidScope},
		{"scope of 256 bytes", url.Values{"scope": {strings.Repeat("s", 256)}}, nil},
		{"scope of 257 bytes", url.Values{"scope": {strings.Repeat("s", 257)}}, fosite.ErrInvalidScope},
		{"50 long scopes", url.Values{"scope": {strings.TrimSpace(strings.Repeat(strings.Repeat("s", 256)+" ", 50))}}, nil},
		{"a scope of spaces", url.Values{"scope": {strings.Repeat(" ", MaxScopes*(MaxScopeBytes+1)+1)}}, fosite.ErrInvalidRequest},
		{"value of 4096 bytes", url.Values{"state": {strings.Repeat("s", 4096)}}, nil},
		{"value of 4097 bytes", url.Values{"state": {strings.Repeat("s", 4097)}}, fosite.ErrInvalidRequest},
		{"unknown value of 4097 bytes", url.Values{"x": {strings.Repeat("s", 4097)}}, fosite.ErrInvalidRequest},
		{"name of 4097 bytes", url.Values{strings.Repeat("n", 4097): {"v"}}, fosite.ErrInvalidRequest},
		{"challenge of 43", url.Values{"code_challenge": {strings.Repeat("A", 43)}}, nil},
		{"challenge of 42", url.Values{"code_challenge": {strings.Repeat("A", 42)}}, fosite.ErrInvalidRequest},
		{"challenge with '/'", url.Values{"code_challenge": {strings.Repeat("A", 42) + "/"}}, fosite.ErrInvalidRequest},
		{"empty challenge", url.Values{"code_challenge": {""}}, fosite.ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkParams(tc.form)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %s", err, tc.want.ErrorField)
			}
		})
	}
}
