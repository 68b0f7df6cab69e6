package apps

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rsaJWK is the public JWK of an RSA key of the given size, with extra members.
func rsaJWK(t *testing.T, bits int, extra map[string]any) map[string]any {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"kty": "RSA", "kid": "rsa", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	for name, v := range extra {
		m[name] = v
	}
	return m
}

// ecJWK is the public JWK of an EC key on curve c, with extra members.
func ecJWK(t *testing.T, c elliptic.Curve, crv string, extra map[string]any) map[string]any {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	size := (c.Params().BitSize + 7) / 8
	m := map[string]any{"kty": "EC", "kid": "ec", "crv": crv,
		"x": b64(k.X.FillBytes(make([]byte, size))), "y": b64(k.Y.FillBytes(make([]byte, size)))}
	for name, v := range extra {
		m[name] = v
	}
	return m
}

func jwks(keys ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// TestCheckJWKS: the keys a private_key_jwt app registers are public RSA
// (2048 bits or more) or P-384 keys for RS384/ES384 signatures; anything
// that would weaken client authentication is refused with a reason.
func TestCheckJWKS(t *testing.T) {
	rsaOK, ecOK := rsaJWK(t, 2048, map[string]any{"alg": "RS384", "use": "sig"}), ecJWK(t, elliptic.P384(), "P-384", nil)
	offCurve := ecJWK(t, elliptic.P384(), "P-384", map[string]any{"kid": "bad"})
	offCurve["y"] = offCurve["x"]
	tests := []struct {
		name string
		raw  []byte
		want string // "" for valid, else a part of the error
	}{
		{"RSA 2048 and P-384", jwks(rsaOK, ecOK), ""},
		{"RSA 1024", jwks(rsaJWK(t, 1024, nil)), "1024 bits"},
		{"P-256", jwks(ecJWK(t, elliptic.P256(), "P-256", nil)), "ES384 needs P-384"},
		{"RSA private key", jwks(rsaJWK(t, 2048, map[string]any{"d": "AQAB"})), "private key material"},
		{"EC private key", jwks(ecJWK(t, elliptic.P384(), "P-384", map[string]any{"d": "AQAB"})), "private key material"},
		{"symmetric key", jwks(map[string]any{"kty": "oct", "k": "c2VjcmV0"}), "private key material"},
		{"RSA for RS256", jwks(rsaJWK(t, 2048, map[string]any{"alg": "RS256"})), "alg must be RS384"},
		{"encryption key", jwks(rsaJWK(t, 2048, map[string]any{"use": "enc"})), `use must be "sig"`},
		{"point off the curve", jwks(offCurve), "not a point on P-384"},
		{"duplicate kid", jwks(rsaOK, rsaOK), "used twice"},
		{"no keys", jwks(), "1 to 10 keys"},
		{"not JSON", []byte(`{"keys":`), "not a JSON Web Key Set"},
		{"too large", []byte(`{"keys":[],"x":"` + strings.Repeat("a", MaxJWKSBytes) + `"}`), "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckJWKS(tc.raw)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid set refused: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want ErrInvalid saying %q", err, tc.want)
			}
		})
	}
}

// TestRegisterPrivateKeyJWT: an app registered with keys is confidential,
// gets no secret, and authenticates with private_key_jwt; keys on a public
// app, both jwks and jwks_uri, or a plain-http jwks_uri are refused.
func TestRegisterPrivateKeyJWT(t *testing.T) {
	set := jwks(rsaJWK(t, 2048, nil))
	base := Registration{Name: "Keyed", RedirectURIs: []string{"https://app.example/cb"}}
	tests := []struct {
		name string
		edit func(*Registration)
		want string // "" for success, else a part of the error
	}{
		{"jwks", func(r *Registration) { r.JWKS = set }, ""},
		{"jwks_uri", func(r *Registration) { r.JWKSURI = "https://app.example/jwks.json" }, ""},
		{"loopback jwks_uri", func(r *Registration) { r.JWKSURI = "http://127.0.0.1:9/jwks.json" }, ""},
		{"both", func(r *Registration) { r.JWKS, r.JWKSURI = set, "https://app.example/jwks.json" }, "not both"},
		{"public", func(r *Registration) { r.JWKS, r.Public = set, true }, "public app has no keys"},
		{"http jwks_uri", func(r *Registration) { r.JWKSURI = "http://app.example/jwks.json" }, "must use https"},
		{"weak key", func(r *Registration) { r.JWKS = jwks(rsaJWK(t, 1024, nil)) }, "1024 bits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := base
			tc.edit(&reg)
			r := &Registry{Store: newFakeStore()}
			out, err := r.Register(t.Context(), reg, devActor)
			app, secret := out.App, out.Secret
			if tc.want != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error = %v, want ErrInvalid saying %q", err, tc.want)
				}
				return
			}
			if err != nil || secret != "" || app.SecretHash != nil || app.AuthMethod() != AuthPrivateKeyJWT {
				t.Fatalf("register: err=%v secret=%q method=%s", err, secret, app.AuthMethod())
			}
		})
	}
}
