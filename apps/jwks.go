package apps

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
)

// Token endpoint authentication methods (RFC 7591 §2,
// token_endpoint_auth_method), one per kind of app.
const (
	AuthNone          = "none"                // public apps: PKCE, no credential
	AuthClientSecret  = "client_secret_basic" // confidential apps with a secret (client_secret_post is accepted too)
	AuthPrivateKeyJWT = "private_key_jwt"     // confidential apps with keys (RFC 7523; SMART's client-confidential-asymmetric)
)

// Limits on a registered JSON Web Key Set.
const (
	MaxJWKSBytes = 16 << 10 // a set, inline or fetched
	maxJWKSKeys  = 10
	minRSABits   = 2048
	maxRSABits   = 8192
)

// privateMembers are JWK members that carry private key material (RFC 7518
// §6.2.2, §6.3.2, §6.4.1); a client must never send them.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// jwk is the part of a JSON Web Key (RFC 7517) that CheckJWKS judges.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// CheckJWKS reports every problem with a client's JSON Web Key Set (RFC
// 7517 §5) for private_key_jwt with RS384 or ES384, or nil. It refuses what
// would weaken client authentication: private key material (the set is
// public; a private key in it is a leaked key), symmetric keys, RSA keys
// under 2048 bits, EC keys on any curve but P-384, keys whose `use` or
// `alg` say they are not for RS384/ES384 signatures, and duplicate key ids.
// The gateway checks sets fetched from a jwks_uri by the same rules.
func CheckJWKS(raw []byte) error {
	if len(raw) > MaxJWKSBytes {
		return fmt.Errorf("%w: jwks is larger than %d bytes", ErrInvalid, MaxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return fmt.Errorf("%w: jwks is not a JSON Web Key Set: %v", ErrInvalid, err)
	}
	if len(set.Keys) == 0 || len(set.Keys) > maxJWKSKeys {
		return fmt.Errorf("%w: jwks must hold 1 to %d keys", ErrInvalid, maxJWKSKeys)
	}
	var p []string
	seen := map[string]bool{}
	for i, k := range set.Keys {
		var key jwk
		if err := json.Unmarshal(k, &key); err != nil {
			p = append(p, fmt.Sprintf("jwks key %d is not a JSON Web Key", i))
			continue
		}
		if key.Kid != "" && seen[key.Kid] {
			p = append(p, fmt.Sprintf("jwks key id %q is used twice", key.Kid))
		}
		seen[key.Kid] = true
		if msg := checkKey(k, key); msg != "" {
			p = append(p, fmt.Sprintf("jwks key %d: %s", i, msg))
		}
	}
	return errList(p)
}

// checkKey returns what is wrong with one key, or "".
func checkKey(raw json.RawMessage, k jwk) string {
	var members map[string]json.RawMessage
	_ = json.Unmarshal(raw, &members)
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return "contains private key material (" + m + "): register the public key only, and replace this key"
		}
	}
	if k.Use != "" && k.Use != "sig" {
		return `use must be "sig"`
	}
	switch k.Kty {
	case "RSA":
		return checkRSA(k)
	case "EC":
		return checkEC(k)
	}
	return "kty must be RSA (for RS384) or EC (P-384, for ES384)"
}

func checkRSA(k jwk) string {
	if k.Alg != "" && k.Alg != "RS384" {
		return "an RSA key's alg must be RS384"
	}
	n, okN := decodeB64(k.N)
	e, okE := decodeB64(k.E)
	if !okN || !okE || len(e) == 0 || len(e) > 4 {
		return "RSA key has no valid n and e"
	}
	bits := new(big.Int).SetBytes(n).BitLen()
	if bits < minRSABits || bits > maxRSABits {
		return fmt.Sprintf("RSA key has %d bits, must have %d to %d", bits, minRSABits, maxRSABits)
	}
	if exp := new(big.Int).SetBytes(e); exp.Cmp(big.NewInt(3)) < 0 || exp.Bit(0) == 0 {
		return "RSA key has an invalid public exponent"
	}
	return ""
}

func checkEC(k jwk) string {
	if k.Crv != "P-384" {
		return fmt.Sprintf("EC key is on curve %q: ES384 needs P-384", k.Crv)
	}
	if k.Alg != "" && k.Alg != "ES384" {
		return "a P-384 key's alg must be ES384"
	}
	x, okX := decodeB64(k.X)
	y, okY := decodeB64(k.Y)
	if !okX || !okY || len(x) != 48 || len(y) != 48 {
		return "EC key has no valid x and y"
	}
	point := slices.Concat([]byte{4}, x, y)
	if _, err := ecdh.P384().NewPublicKey(point); err != nil {
		return "EC key is not a point on P-384"
	}
	return ""
}

// decodeB64 decodes base64url without padding (RFC 7515 §2).
func decodeB64(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return b, err == nil && s != ""
}
