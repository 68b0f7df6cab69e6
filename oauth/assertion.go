package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"
	"github.com/ory/fosite"

	"github.com/patientaccess/gateway/apps"
)

// Client assertions (private_key_jwt: RFC 7523 §2.2 and §3; SMART App
// Launch 2 "client-confidential-asymmetric").
const (
	assertionType        = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	maxAssertionBytes    = 8 << 10
	maxAssertionLifetime = 5 * time.Minute // SMART: exp no more than five minutes in the future
	assertionLeeway      = 30 * time.Second
	maxJTI               = 256
)

// AssertionAlgorithms are the signature algorithms a client assertion may
// use: the two SMART App Launch 2 requires servers to support. RS256,
// HMAC and "none" are refused.
var AssertionAlgorithms = []string{"RS384", "ES384"}

// assertionClient authenticates a client by its signed JWT assertion. In
// order: the assertion type; a compact JWS signed with RS384 or ES384; iss
// and sub both the client id (and client_id, if sent, the same); an
// approved app registered for private_key_jwt; a signature by one of its
// keys (the registered JWKS, or its jwks_uri, fetched again once if no key
// matches, for rotation); exp present, not past and at most five minutes
// ahead; nbf not in the future; aud naming the token endpoint; a jti not
// seen before, recorded in the store until exp so the assertion is
// accepted once. Every refusal is invalid_client.
func (s *Server) assertionClient(ctx context.Context, form url.Values) (fosite.Client, error) {
	if form.Get("client_assertion_type") != assertionType {
		return nil, fosite.ErrInvalidRequest.WithHintf("client_assertion_type must be '%s'.", assertionType)
	}
	raw := form.Get("client_assertion")
	if raw == "" || len(raw) > maxAssertionBytes || strings.Count(raw, ".") != 2 {
		return nil, fosite.ErrInvalidClient.WithHint("client_assertion must be a signed JWT in compact form.")
	}
	tok, err := jwt.ParseSigned(raw)
	if err != nil || len(tok.Headers) != 1 {
		return nil, fosite.ErrInvalidClient.WithHint("client_assertion must be a signed JWT in compact form.")
	}
	alg := tok.Headers[0].Algorithm
	if !slices.Contains(AssertionAlgorithms, alg) {
		return nil, fosite.ErrInvalidClient.WithHintf("client_assertion must be signed with %s.", strings.Join(AssertionAlgorithms, " or "))
	}
	var claimed jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claimed); err != nil || claimed.Subject == "" ||
		claimed.Issuer != claimed.Subject || (form.Get("client_id") != "" && form.Get("client_id") != claimed.Subject) {
		return nil, fosite.ErrInvalidClient.WithHint("client_assertion's iss and sub must both be the client_id.")
	}
	app, err := s.store.apps.GetApp(ctx, claimed.Subject) // through the adapter: a store failure is noted (503)
	if err != nil && !errors.Is(err, apps.ErrNotFound) {
		return nil, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	if err != nil || !app.Approved() || app.AuthMethod() != apps.AuthPrivateKeyJWT {
		return nil, fosite.ErrInvalidClient.WithHint("The client is unknown, not approved, or not registered for private_key_jwt.")
	}
	claims, err := s.verifyAssertion(ctx, app, tok)
	if err != nil {
		return nil, err
	}
	if err := s.checkAssertionClaims(claims); err != nil {
		return nil, err
	}
	err = s.store.SetClientAssertionJWT(ctx, assertionID(app.ClientID, claims.ID), claims.Expiry.Time())
	if errors.Is(err, fosite.ErrJTIKnown) {
		return nil, fosite.ErrInvalidClient.WithHint("This client_assertion (its jti) was already used.")
	}
	if err != nil {
		return nil, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	return s.store.client(app), nil
}

// verifyAssertion checks the signature with the app's keys and returns the
// verified claims.
func (s *Server) verifyAssertion(ctx context.Context, app apps.App, tok *jwt.JSONWebToken) (jwt.Claims, error) {
	h := tok.Headers[0]
	for _, fresh := range []bool{false, true} {
		if fresh && app.JWKSURI == "" {
			break
		}
		set, err := s.clientKeys.keys(ctx, app, fresh)
		if err != nil {
			s.deps.Logger.WarnContext(ctx, "client keys unavailable", "client_id", app.ClientID, "err", err)
			return jwt.Claims{}, fosite.ErrInvalidClient.WithHint("The client's keys could not be read.")
		}
		for _, key := range candidateKeys(set, h.KeyID, h.Algorithm) {
			var claims jwt.Claims
			if tok.Claims(key, &claims) == nil {
				return claims, nil
			}
		}
	}
	return jwt.Claims{}, fosite.ErrInvalidClient.WithHint("client_assertion's signature does not verify with a key the client registered.")
}

// candidateKeys are the keys of set that could have made an alg signature:
// the key named kid (all keys when kid is empty), for signing, of the
// algorithm's key type (RSA for RS384, P-384 for ES384), and not declared
// for another algorithm.
func candidateKeys(set jose.JSONWebKeySet, kid, alg string) []any {
	keys := set.Keys
	if kid != "" {
		keys = set.Key(kid)
	}
	var out []any
	for _, k := range keys {
		if (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != alg) {
			continue
		}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if alg == "RS384" {
				out = append(out, pub)
			}
		case *ecdsa.PublicKey:
			if alg == "ES384" && pub.Curve == elliptic.P384() {
				out = append(out, pub)
			}
		}
	}
	return out
}

// checkAssertionClaims checks a verified assertion's time, audience and id.
func (s *Server) checkAssertionClaims(c jwt.Claims) error {
	now := s.now()
	tokenURL := s.cfg.Issuer + PathToken
	switch {
	case c.Expiry == nil:
		return fosite.ErrInvalidClient.WithHint("client_assertion has no exp.")
	case now.After(c.Expiry.Time().Add(assertionLeeway)):
		return fosite.ErrInvalidClient.WithHint("client_assertion has expired.")
	case c.Expiry.Time().After(now.Add(maxAssertionLifetime + assertionLeeway)):
		return fosite.ErrInvalidClient.WithHint("client_assertion's exp is more than five minutes ahead.")
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(assertionLeeway)):
		return fosite.ErrInvalidClient.WithHint("client_assertion is not valid yet (nbf).")
	case !c.Audience.Contains(tokenURL):
		return fosite.ErrInvalidClient.WithHintf("client_assertion's aud must be the token endpoint, %s.", tokenURL)
	case c.ID == "" || len(c.ID) > maxJTI:
		return fosite.ErrInvalidClient.WithHintf("client_assertion needs a jti of 1 to %d characters.", maxJTI)
	}
	return nil
}

// assertionID is the store key of a used assertion: the client and its
// jti, hashed to a fixed length, so one client's ids never block another's.
func assertionID(clientID, jti string) string {
	sum := sha256.Sum256([]byte(clientID + "\x00" + jti))
	return hex.EncodeToString(sum[:])
}

// assertionSubject is the client a client assertion names (its sub),
// unverified, or "" if it names none. client_id is optional with
// private_key_jwt (RFC 7523 §3): without this, failed assertions sent
// without it would count against no client and never be throttled.
func assertionSubject(raw string) string {
	if raw == "" || len(raw) > maxAssertionBytes {
		return ""
	}
	tok, err := jwt.ParseSigned(raw)
	if err != nil {
		return ""
	}
	var claimed jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claimed); err != nil {
		return ""
	}
	return claimed.Subject
}
