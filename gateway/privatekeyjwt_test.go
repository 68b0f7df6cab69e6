package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"golang.org/x/oauth2"
)

// appKeys are a private_key_jwt app's keys: RSA for RS384, P-384 for ES384.
type appKeys struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}

func newAppKeys(t *testing.T) appKeys {
	t.Helper()
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return appKeys{rsa: r, ec: e}
}

// jwks is the public JWKS the app registers.
func (k appKeys) jwks() json.RawMessage {
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.rsa.PublicKey, KeyID: "rsa1", Use: "sig"},
		{Key: &k.ec.PublicKey, KeyID: "ec1", Use: "sig"},
	}})
	return b
}

// assertion signs a client assertion; edit changes the claims first.
func assertion(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned is an alg "none" JWT.
func unsigned(claims map[string]any) string {
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + "."
}

// claimsFor are valid assertion claims for clientID at the gateway, with
// changes applied (a nil value deletes the claim).
func (h *harness) claimsFor(clientID string, changes map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": clientID, "sub": clientID, "aud": h.endpoint("token_endpoint"),
		"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": oauth2.GenerateVerifier()}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// withAssertion adds private_key_jwt authentication to a token request.
func withAssertion(form url.Values, assertion string) url.Values {
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", assertion)
	return form
}

// asymmetricLaunch registers fields as a private_key_jwt app, runs a launch
// for alice and returns the client id and the code exchange form (without
// client authentication).
func (h *harness) asymmetricLaunch(fields map[string]any) (string, url.Values) {
	h.t.Helper()
	clientID, secret := h.registerClient(appRedirect, fields)
	if secret != "" {
		h.t.Fatal("a private_key_jwt app was given a client secret")
	}
	conf := &oauth2.Config{ClientID: clientID, RedirectURL: appRedirect,
		Scopes:   []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.read"},
		Endpoint: oauth2.Endpoint{AuthURL: h.endpoint("authorization_endpoint"), TokenURL: h.endpoint("token_endpoint")}}
	l := h.newLaunch(conf)
	code := h.authorize(h.browser(), l, "alice")
	return clientID, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {appRedirect}, "code_verifier": {l.verifier}}
}

// TestPrivateKeyJWT: an app registered with a JWKS authenticates with
// signed client assertions (RFC 7523; SMART client-confidential-asymmetric)
// in RS384 or ES384. Other algorithms, expired or long-lived assertions,
// the wrong audience, a foreign key, a missing jti and a replayed jti are
// refused as invalid_client, and a refusal spends neither code nor token.
func TestPrivateKeyJWT(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			keys := newAppKeys(t)
			clientID, exchange := h.asymmetricLaunch(map[string]any{"jwks": keys.jwks()})
			stranger := newAppKeys(t)
			now := time.Now()
			refusals := []struct{ name, assertion string }{
				{"RS256", assertion(t, keys.rsa, jose.RS256, "rsa1", h.claimsFor(clientID, nil))},
				{"HS256", assertion(t, []byte("a shared secret of thirty-two bytes!"), jose.HS256, "rsa1", h.claimsFor(clientID, nil))},
				{"none", unsigned(h.claimsFor(clientID, nil))},
				{"expired", assertion(t, keys.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, map[string]any{"exp": now.Add(-2 * time.Minute).Unix(), "iat": now.Add(-6 * time.Minute).Unix()}))},
				{"exp an hour ahead", assertion(t, keys.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, map[string]any{"exp": now.Add(time.Hour).Unix()}))},
				{"no exp", assertion(t, keys.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, map[string]any{"exp": nil}))},
				{"audience is the issuer", assertion(t, keys.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, map[string]any{"aud": h.base}))},
				{"iss is not the client", assertion(t, keys.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, map[string]any{"iss": "someone-else"}))},
				{"no jti", assertion(t, keys.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, map[string]any{"jti": nil}))},
				{"unregistered key", assertion(t, stranger.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, nil))},
				{"ES384 with a P-384 key not registered", assertion(t, stranger.ec, jose.ES384, "ec1", h.claimsFor(clientID, nil))},
			}
			for _, r := range refusals {
				if got := h.postToken(withAssertion(cloneForm(exchange), r.assertion)); got.status != 401 || got.Error != "invalid_client" {
					t.Errorf("%s: %d %q, want 401 invalid_client", r.name, got.status, got.Error)
				}
			}
			if got := h.postToken(url.Values{"client_id": {clientID}, "grant_type": {"authorization_code"}, "code": exchange["code"]}); got.status != 401 {
				t.Errorf("client_id without an assertion: %d %q, want 401", got.status, got.Error)
			}

			first := assertion(t, keys.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, nil))
			tok := h.postToken(withAssertion(cloneForm(exchange), first))
			if tok.status != 200 || tok.AccessToken == "" || tok.RefreshToken == "" {
				t.Fatalf("code exchange with an RS384 assertion: %d %q", tok.status, tok.Error)
			}
			if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 200 {
				t.Fatalf("read with the token: %d", code)
			}
			refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
			if replay := h.postToken(withAssertion(cloneForm(refresh), first)); replay.status != 401 || replay.Error != "invalid_client" {
				t.Fatalf("replayed assertion: %d %q, want 401 invalid_client", replay.status, replay.Error)
			}
			es := h.postToken(withAssertion(cloneForm(refresh), assertion(t, keys.ec, jose.ES384, "ec1", h.claimsFor(clientID, nil))))
			if es.status != 200 || es.AccessToken == "" {
				t.Fatalf("refresh with an ES384 assertion after the refused replay: %d %q", es.status, es.Error)
			}
		})
	}
}

// TestPrivateKeyJWTFromJWKSURI: keys registered by jwks_uri are fetched
// (once: the set is cached) and used like registered ones.
func TestPrivateKeyJWTFromJWKSURI(t *testing.T) {
	keys := newAppKeys(t)
	var fetches atomic.Int32
	keySrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(keys.jwks())
	}))
	t.Cleanup(keySrv.Close)
	h := newHarness(t, memoryStore)
	clientID, exchange := h.asymmetricLaunch(map[string]any{"jwks_uri": keySrv.URL + "/jwks.json"})
	tok := h.postToken(withAssertion(exchange, assertion(t, keys.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, nil))))
	if tok.status != 200 {
		t.Fatalf("code exchange: %d %q", tok.status, tok.Error)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	if r := h.postToken(withAssertion(refresh, assertion(t, keys.ec, jose.ES384, "ec1", h.claimsFor(clientID, nil)))); r.status != 200 {
		t.Fatalf("refresh: %d %q", r.status, r.Error)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("the jwks_uri was fetched %d times for two assertions, want 1 (cached)", n)
	}
}

// TestDiscoveryAsymmetric: smart-configuration advertises private_key_jwt
// with RS384 and ES384, and the client-confidential-asymmetric capability.
func TestDiscoveryAsymmetric(t *testing.T) {
	h := newHarness(t, memoryStore)
	if !slices.Contains(toStrings(h.disco["token_endpoint_auth_methods_supported"]), "private_key_jwt") {
		t.Errorf("token_endpoint_auth_methods_supported = %v", h.disco["token_endpoint_auth_methods_supported"])
	}
	if got := toStrings(h.disco["token_endpoint_auth_signing_alg_values_supported"]); !slices.Equal(got, []string{"RS384", "ES384"}) {
		t.Errorf("token_endpoint_auth_signing_alg_values_supported = %v", got)
	}
	if !slices.Contains(toStrings(h.disco["capabilities"]), "client-confidential-asymmetric") {
		t.Errorf("capabilities lack client-confidential-asymmetric: %v", h.disco["capabilities"])
	}
}

func cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = slices.Clone(v)
	}
	return out
}

// TestAssertionFailuresThrottledWithoutClientID: client_id is optional
// with private_key_jwt, and an assertion sent without it is counted against
// the client its sub names: after a burst of assertions signed with a key
// the app never registered, the app's own valid assertion gets 429 too,
// as a wrong secret would.
func TestAssertionFailuresThrottledWithoutClientID(t *testing.T) {
	for name, open := range throttleCases(t) {
		t.Run(name, func(t *testing.T) {
			h := open(t).h
			keys, stranger := newAppKeys(t), newAppKeys(t)
			clientID, exchange := h.asymmetricLaunch(map[string]any{"jwks": keys.jwks()})
			var statuses []int
			for range 40 {
				forged := assertion(t, stranger.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, nil))
				statuses = append(statuses, h.postToken(withAssertion(cloneForm(exchange), forged)).status)
			}
			if statuses[0] != http.StatusUnauthorized || statuses[39] != http.StatusTooManyRequests {
				t.Fatalf("40 forged assertions without client_id: %v, want 401 first and 429 later", statuses)
			}
			good := assertion(t, keys.rsa, jose.RS384, "rsa1", h.claimsFor(clientID, nil))
			if got := h.postToken(withAssertion(cloneForm(exchange), good)); got.status != http.StatusTooManyRequests {
				t.Fatalf("the app's valid assertion while throttled: %d %q, want 429", got.status, got.Error)
			}
		})
	}
}
