package oauth

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ory/fosite"
)

// fositeAnswer is what fosite writes for the request its introspection
// path rebuilds from an access token, the answer activeAnswer stands for.
func fositeAnswer(a activeAnswer) *fosite.IntrospectionResponse {
	sess := NewSession()
	sess.Subject = a.sub
	sess.Claims.Issuer = a.iss
	sess.Patient = a.patient
	sess.FHIRUser = a.fhirUser()
	sess.DefaultSession.SetExpiresAt(fosite.AccessToken, time.Unix(a.exp, 0))
	req := &fosite.AccessRequest{Request: fosite.Request{ID: "grant-1", RequestedAt: time.Unix(a.iat, 0),
		Client: &fosite.DefaultClient{ID: a.clientID}, GrantedScope: fosite.Arguments(slices.Clone(a.scopes)),
		GrantedAudience: fosite.Arguments{a.aud}, Form: url.Values{}, Session: sess}}
	return &fosite.IntrospectionResponse{Active: true, AccessRequester: req, TokenUse: fosite.AccessToken,
		AccessTokenType: fosite.BearerAccessToken}
}

// TestActiveAnswerAsFosite: an active token's answer is written byte for
// byte as fosite's WriteIntrospectionResponse writes the request fosite's
// path rebuilds, with the same headers, whatever its strings hold.
func TestActiveAnswerAsFosite(t *testing.T) {
	typical := activeAnswer{iss: "https://api.plan.example", aud: "https://api.plan.example/fhir",
		clientID: "Zk3vQ1x2_-abc", sub: "mD7rS0b9xYqL4uJ2k1n8p5t3w6z0A-_cE9fH2iK4lMo",
		patient: "alice-1001", scopes: []string{"launch/patient", "patient/*.rs", "offline_access"},
		exp: 1796000000, iat: 1795996400}
	tricky := typical
	tricky.clientID = "a\"b\\c<d>e&f\u2028g\u2029h\x00\x01\x1f\x7f\b\f\n\r\t"
	tricky.patient = "pät\xffient/ü🙂"
	tricky.iss = "https://plan.example/?a=1&b=<2>"
	bare := typical
	bare.patient, bare.sub, bare.scopes = "", "", nil
	for name, a := range map[string]activeAnswer{"typical": typical, "tricky": tricky, "bare": bare} {
		t.Run(name, func(t *testing.T) {
			want := httptest.NewRecorder()
			(&fosite.Fosite{Config: &fosite.Config{}}).WriteIntrospectionResponse(context.Background(), want, fositeAnswer(a))
			got := httptest.NewRecorder()
			a.write(got)
			if got.Body.String() != want.Body.String() {
				t.Errorf("answer\n got %s\nwant %s", got.Body, want.Body)
			}
			for _, h := range []string{"Content-Type", "Cache-Control", "Pragma"} {
				if got.Header().Get(h) != want.Header().Get(h) {
					t.Errorf("%s: %q, want %q", h, got.Header().Get(h), want.Header().Get(h))
				}
			}
		})
	}
}

// TestAppendJSONChars: every ASCII byte, a few runes and invalid UTF-8 are
// escaped as encoding/json escapes them.
func TestAppendJSONChars(t *testing.T) {
	inputs := []string{"", "plain", "\u2028\u2029", "é🙂", "\xff", "a\xc3", "\xed\xa0\x80"}
	for c := range 0x80 {
		inputs = append(inputs, string(rune(c)))
	}
	for _, in := range inputs {
		want, _ := json.Marshal(in)
		if got := appendJSONString(nil, in); string(got) != string(want) {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}
