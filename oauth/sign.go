package oauth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// SignJWT signs claims as a compact JWS with RS256 and the key that signs
// id_tokens, naming it by kid, so that an app verifies it with the JWKS
// as it verifies id_tokens. typ goes in the header (RFC 8725 §3.11: say
// what the token is, e.g. "secevent+jwt"), so that no such token can be
// taken for an id_token.
func (s *Server) SignJWT(claims map[string]any, typ string) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": typ, "kid": s.kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sign JWT: %w", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.cfg.SigningKey, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign JWT: %w", err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}
