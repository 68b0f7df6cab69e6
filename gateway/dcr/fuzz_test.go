package dcr

import (
	"encoding/json"
	"testing"

	"github.com/patientaccess/gateway/apps"
)

// FuzzParseMetadata: whatever a registration body holds, the parser never
// panics, answers only the two RFC 7591 codes with a description, and what
// it accepts is a registration the registry accepts too, with a name and
// at least one redirect URI, and credentials only the server issues.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{
		`{"client_name":"T","redirect_uris":["https://t.example/cb"]}`,
		`{"client_name":"T","redirect_uris":["com.t.app:/cb"],"token_endpoint_auth_method":"none","scope":"openid patient/*.rs"}`,
		`{"client_name":"T","redirect_uris":["https://t.example/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://t.example/j"}`,
		`{"redirect_uris":[1]}`, `[]`, `null`, `{"client_name":"T","redirect_uris":["https://*.t/cb"]}`, `{"contacts":["tel:1"]}`,
		`{"client_name":"T","redirect_uris":["https://t.example/cb"],"privacy_attestation":"attested","client_secret":"mine"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		reg, e := ParseMetadata(body)
		if e != nil {
			if (e.Code != ErrInvalidRedirectURI && e.Code != ErrInvalidClientMetadata) || e.Description == "" {
				t.Fatalf("error %+v", e)
			}
			return
		}
		if err := reg.Validate(); err != nil {
			t.Fatalf("accepted a registration the registry refuses: %v (%s)", err, body)
		}
		if reg.Name == "" || len(reg.RedirectURIs) == 0 || !reg.RegistrationToken {
			t.Fatalf("accepted %+v from %s", reg, body)
		}
		if reg.Public && (len(reg.JWKS) > 0 || reg.JWKSURI != "") {
			t.Fatalf("a public app with keys from %s", body)
		}
		if _, err := json.Marshal(reg.Attestation); err != nil || (reg.Attestation.Status() != apps.AttestationNone && len(reg.Attestation.Answers) == 0) {
			t.Fatalf("attestation %+v", reg.Attestation)
		}
	})
}
