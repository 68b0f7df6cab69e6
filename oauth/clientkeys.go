package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/patientaccess/gateway/apps"
)

// Fetching a private_key_jwt app's jwks_uri.
const (
	jwksFetchTimeout = 5 * time.Second  // per fetch, connection to last byte
	jwksCacheTTL     = 10 * time.Minute // a fetched set is used this long
	jwksMinRefetch   = 30 * time.Second // an unknown kid refetches at most this often
	jwksMaxCached    = 1000             // sets kept; beyond it the cache starts over
)

// clientKeys finds the public keys of private_key_jwt apps: the registered
// JWKS, or the set at the registered jwks_uri, fetched with a timeout and
// cached. A fetched set must pass the same checks as a registered one
// (apps.CheckJWKS). jwks_uri must be https; plain http is accepted only on
// a loopback host (tests, local development).
type clientKeys struct {
	http *http.Client
	now  func() time.Time

	mu    sync.Mutex
	cache map[string]cachedKeys
}

type cachedKeys struct {
	set     jose.JSONWebKeySet
	fetched time.Time
}

func newClientKeys(now func() time.Time) *clientKeys {
	return &clientKeys{
		now:   now,
		cache: map[string]cachedKeys{},
		http: &http.Client{
			Timeout: jwksFetchTimeout,
			// A key set does not move: following redirects would only let
			// a jwks_uri point the gateway elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// keys returns an app's key set. With fresh, a set from jwks_uri is fetched
// again unless it was fetched within jwksMinRefetch (key rotation: the
// caller asks when no key matched).
func (k *clientKeys) keys(ctx context.Context, app apps.App, fresh bool) (jose.JSONWebKeySet, error) {
	if app.JWKSURI == "" {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(app.JWKS, &set); err != nil {
			return set, fmt.Errorf("registered jwks: %w", err)
		}
		return set, nil
	}
	k.mu.Lock()
	c, ok := k.cache[app.JWKSURI]
	k.mu.Unlock()
	age := k.now().Sub(c.fetched)
	if ok && age < jwksCacheTTL && (!fresh || age < jwksMinRefetch) {
		return c.set, nil
	}
	set, err := k.fetch(ctx, app.JWKSURI)
	if err != nil {
		return set, err
	}
	k.mu.Lock()
	if len(k.cache) >= jwksMaxCached {
		k.cache = map[string]cachedKeys{}
	}
	k.cache[app.JWKSURI] = cachedKeys{set: set, fetched: k.now()}
	k.mu.Unlock()
	return set, nil
}

// fetch GETs a jwks_uri and checks what it holds.
func (k *clientKeys) fetch(ctx context.Context, raw string) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	u, err := url.Parse(raw)
	if err != nil || !(u.Scheme == "https" || u.Scheme == "http" && loopbackHost(u.Hostname())) {
		return set, errors.New("jwks_uri must be https")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return set, fmt.Errorf("jwks_uri: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := k.http.Do(req)
	if err != nil {
		return set, fmt.Errorf("fetch jwks_uri: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return set, fmt.Errorf("fetch jwks_uri: HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, apps.MaxJWKSBytes+1))
	if err != nil {
		return set, fmt.Errorf("fetch jwks_uri: %w", err)
	}
	if err := apps.CheckJWKS(body); err != nil {
		return set, fmt.Errorf("jwks_uri: %w", err)
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return set, fmt.Errorf("jwks_uri: %w", err)
	}
	return set, nil
}

func loopbackHost(host string) bool {
	switch strings.ToLower(host) {
	case "127.0.0.1", "::1", "localhost":
		return true
	}
	return false
}
