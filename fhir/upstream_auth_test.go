package fhir

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"
)

// tokenServer is a client-credentials token endpoint that checks what a
// real one checks: the client secret, or the signature, algorithm,
// audience, expiry and unused jti of a client assertion.
type tokenServer struct {
	t       *testing.T
	srv     *httptest.Server
	pub     crypto.PublicKey
	alg     jose.SignatureAlgorithm
	secret  string
	mu      sync.Mutex
	issued  int
	jtis    map[string]bool
	refused []string
	clock   func() time.Time // the test's clock; nil is time.Now
}

func newTokenServer(t *testing.T, pub crypto.PublicKey, alg jose.SignatureAlgorithm, secret string) *tokenServer {
	ts := &tokenServer{t: t, pub: pub, alg: alg, secret: secret, jtis: map[string]bool{}}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if err := ts.check(r); err != nil {
		ts.refused = append(ts.refused, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	ts.issued++
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("upstream-token-%d", ts.issued), "token_type": "bearer", "expires_in": 300})
}

func (ts *tokenServer) check(r *http.Request) error {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") != "system/*.rs" {
		return fmt.Errorf("bad grant: %v %v", err, r.PostForm)
	}
	if ts.secret != "" {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "gateway" || secret != ts.secret {
			return fmt.Errorf("bad basic credentials")
		}
		return nil
	}
	if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return fmt.Errorf("no assertion")
	}
	tok, err := jwt.ParseSigned(r.PostForm.Get("client_assertion"))
	if err != nil || len(tok.Headers) != 1 || tok.Headers[0].Algorithm != string(ts.alg) || tok.Headers[0].KeyID != "key-1" {
		return fmt.Errorf("bad assertion header: %v", err)
	}
	var c jwt.Claims
	if err := tok.Claims(ts.pub, &c); err != nil {
		return fmt.Errorf("bad signature: %w", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: "gateway", Subject: "gateway", Audience: jwt.Audience{ts.srv.URL + "/token"}, Time: ts.now()}, 0); err != nil {
		return err
	}
	if c.Expiry.Time().Sub(c.IssuedAt.Time()) > 5*time.Minute || c.ID == "" || ts.jtis[c.ID] {
		return fmt.Errorf("assertion lives too long or reuses a jti")
	}
	ts.jtis[c.ID] = true
	return nil
}

func (ts *tokenServer) now() time.Time {
	if ts.clock == nil {
		return time.Now()
	}
	return ts.clock()
}

func TestClientCredentialsAuthenticate(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name   string
		key    crypto.Signer
		pub    crypto.PublicKey
		alg    jose.SignatureAlgorithm
		secret string
	}{
		{"client secret", nil, nil, "", "s3cret"},
		{"private_key_jwt RS384", rsaKey, &rsaKey.PublicKey, jose.RS384, ""},
		{"private_key_jwt ES384", ecKey, &ecKey.PublicKey, jose.ES384, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTokenServer(t, tt.pub, tt.alg, tt.secret)
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			ts.clock = clock
			cc := &ClientCredentials{TokenURL: ts.srv.URL + "/token", ClientID: "gateway", Secret: tt.secret, Key: tt.key,
				KeyID: "key-1", Scopes: []string{"system/*.rs"}, Now: clock}
			bearer := func() string {
				req := httptest.NewRequest("GET", "/", nil)
				if err := cc.Authorize(t.Context(), req); err != nil {
					t.Fatalf("Authorize: %v (token server refused %v)", err, ts.refused)
				}
				return req.Header.Get("Authorization")
			}
			first := bearer()
			if bearer() != first || ts.issued != 1 {
				t.Fatalf("a live token was not reused: %d issued", ts.issued)
			}
			mu.Lock()
			now = now.Add(300*time.Second - tokenEarly + time.Second)
			mu.Unlock()
			if bearer() == first || ts.issued != 2 {
				t.Fatalf("a token about to expire was reused: %d issued", ts.issued)
			}
			cc.Invalidate()
			if bearer(); ts.issued != 3 {
				t.Fatalf("an invalidated token was reused: %d issued", ts.issued)
			}
		})
	}
}

func TestAssertionKeysRefused(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, key := range []crypto.Signer{small, p256} {
		if _, err := assertionAlg(key); err == nil {
			t.Errorf("%T accepted", key)
		}
	}
}

// TestUpstreamRetriesWithANewToken: an upstream that refuses a cached token
// gets one retry with a fresh token.
func TestUpstreamRetriesWithANewToken(t *testing.T) {
	ts := newTokenServer(t, nil, "", "s3cret")
	e, f, up := upstreamEnv(t, UpstreamConfig{})
	up.cfg.Auth = &ClientCredentials{TokenURL: ts.srv.URL + "/token", ClientID: "gateway", Secret: "s3cret", Scopes: []string{"system/*.rs"}}
	f.misbehave = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer upstream-token-2" {
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		return false
	}
	if w := e.get("alice", "/fhir/Coverage"); w.Code != 200 {
		t.Fatalf("after a refused token: %d %s", w.Code, w.Body)
	}
	if ts.issued != 2 {
		t.Fatalf("%d tokens issued, want 2", ts.issued)
	}
}
