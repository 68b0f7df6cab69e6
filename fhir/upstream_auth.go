package fhir

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// UpstreamAuth authenticates the gateway's calls to the upstream FHIR
// server. StaticBearer and ClientCredentials implement it.
type UpstreamAuth interface {
	// Authorize adds credentials to a request.
	Authorize(ctx context.Context, req *http.Request) error
	// Invalidate drops a cached credential after the upstream refused it,
	// and reports whether a fresh one will be fetched (so a retry is worth
	// it).
	Invalidate() bool
}

// StaticBearer is a fixed bearer token, as some plans issue to a gateway.
type StaticBearer string

// Authorize implements UpstreamAuth.
func (t StaticBearer) Authorize(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Bearer "+string(t))
	return nil
}

// Invalidate implements UpstreamAuth: a static token cannot be renewed.
func (StaticBearer) Invalidate() bool { return false }

// ClientCredentials gets access tokens with the OAuth 2.0 client
// credentials grant (RFC 6749 §4.4) and keeps each until shortly before it
// expires. The client authenticates with client_secret_basic when Secret is
// set, or with a signed JWT assertion (RFC 7523 private_key_jwt, as SMART
// Backend Services requires: RS384 for an RSA key, ES384 for a P-384 key)
// when Key is set.
type ClientCredentials struct {
	TokenURL string
	ClientID string
	Secret   string
	Key      crypto.Signer
	KeyID    string // the "kid" the upstream's authorization server knows the key by
	Scopes   []string
	// Client makes the token requests; nil uses a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock for assertions and expiry; nil is time.Now.
	Now func() time.Time

	mu    sync.Mutex
	token *oauth2.Token
}

// tokenEarly is how long before its expiry a token is replaced.
const tokenEarly = 30 * time.Second

// Authorize implements UpstreamAuth.
func (c *ClientCredentials) Authorize(ctx context.Context, req *http.Request) error {
	tok, err := c.current(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return nil
}

// Invalidate implements UpstreamAuth.
func (c *ClientCredentials) Invalidate() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = nil
	return true
}

// current returns the cached token, or fetches one; concurrent callers
// wait for the one fetch.
func (c *ClientCredentials) current(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.token != nil && (c.token.Expiry.IsZero() || now.Add(tokenEarly).Before(c.token.Expiry)) {
		return c.token, nil
	}
	tok, err := c.fetch(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("upstream client credentials: %w", err)
	}
	c.token = tok
	return tok, nil
}

func (c *ClientCredentials) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *ClientCredentials) fetch(ctx context.Context, now time.Time) (*oauth2.Token, error) {
	cfg := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.Secret, TokenURL: c.TokenURL, Scopes: c.Scopes,
		AuthStyle: oauth2.AuthStyleInHeader}
	if c.Key != nil {
		assertion, err := c.assertion(now)
		if err != nil {
			return nil, err
		}
		cfg.ClientSecret, cfg.AuthStyle = "", oauth2.AuthStyleInParams
		cfg.EndpointParams = url.Values{
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion},
		}
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
}

// assertion is a fresh client assertion: issuer and subject the client,
// audience the token URL, five minutes of life, a random jti.
func (c *ClientCredentials) assertion(now time.Time) (string, error) {
	alg, err := assertionAlg(c.Key)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if c.KeyID != "" {
		opts = opts.WithHeader("kid", c.KeyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: c.Key}, opts)
	if err != nil {
		return "", fmt.Errorf("client assertion signer: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims := jwt.Claims{Issuer: c.ClientID, Subject: c.ClientID, Audience: jwt.Audience{c.TokenURL},
		ID: base64.RawURLEncoding.EncodeToString(jti), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute))}
	return jwt.Signed(signer).Claims(claims).CompactSerialize()
}

// assertionAlg is the SMART Backend Services algorithm for a key.
func assertionAlg(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return "", errors.New("client assertion key: RSA keys must have at least 2048 bits")
		}
		return jose.RS384, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P384() {
			return "", errors.New("client assertion key: EC keys must be on P-384 (ES384)")
		}
		return jose.ES384, nil
	}
	return "", fmt.Errorf("client assertion key: %T is not an RSA or P-384 EC key", key)
}
