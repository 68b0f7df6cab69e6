package oidcrp

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDiscoveryCaches checks what the gateway caches of the
// provider's discovery document: fetched at the first sign-in, reused for
// an hour, fetched again after; a failed refresh keeps the last good
// document (and is retried by the next sign-in); with no document at all,
// a sign-in fails.
func TestDiscoveryCaches(t *testing.T) {
	var fetches atomic.Int32
	var down atomic.Bool
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		fetches.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "authorization_endpoint": srv.URL + "/auth",
			"token_endpoint": srv.URL + "/token", "jwks_uri": srv.URL + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"}})
	}))
	defer srv.Close()
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	d := &Discovery{Issuer: srv.URL, Client: srv.Client(), Now: clock, Logger: slog.New(slog.DiscardHandler)}
	get := func(want int32) {
		t.Helper()
		p, err := d.Get(t.Context())
		if err != nil || p.Endpoint().TokenURL != srv.URL+"/token" {
			t.Fatalf("get: %v, %v", p, err)
		}
		if got := fetches.Load(); got != want {
			t.Fatalf("discovery fetched %d times, want %d", got, want)
		}
	}

	if fetches.Load() != 0 {
		t.Fatal("discovery fetched before the first sign-in")
	}
	get(1)
	advance(59 * time.Minute)
	get(1)
	advance(time.Minute)
	get(2)
	down.Store(true)
	advance(time.Hour)
	get(3) // refresh failed: the last good document is used
	get(4) // and the next sign-in tries again

	cold := &Discovery{Issuer: srv.URL, Client: srv.Client(), Now: clock, Logger: slog.New(slog.DiscardHandler)}
	if _, err := cold.Get(t.Context()); err == nil || !strings.Contains(err.Error(), "discovery") {
		t.Fatalf("first discovery against a provider that is down: %v, want an error", err)
	}
}

// TestClaimString checks which member claims are accepted: non-empty
// strings and numbers, as their text; nothing that could smuggle control
// characters into a query or the logs.
func TestClaimString(t *testing.T) {
	for raw, want := range map[string]string{
		`"DEMO-M-1001"`:                      "DEMO-M-1001",
		`"  padded "`:                        "padded",
		`12345678901234567890`:               "12345678901234567890",
		`""`:                                 "",
		`null`:                               "",
		`["a"]`:                              "",
		`{"v":"a"}`:                          "",
		`true`:                               "",
		`"line\nbreak"`:                      "",
		`"` + strings.Repeat("x", 257) + `"`: "",
		``:                                   "",
	} {
		got, ok := ClaimString(json.RawMessage(raw))
		if got != want || ok != (want != "") {
			t.Errorf("ClaimString(%s) = %q, %v; want %q", raw, got, ok, want)
		}
	}
}
