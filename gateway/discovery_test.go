package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v3"
)

// TestDiscovery checks the SMART and OpenID documents a client starts from,
// and that the id_token verifies against the published JWKS.
func TestDiscovery(t *testing.T) {
	h := newHarness(t, memoryStore)
	for _, c := range []string{"launch-standalone", "client-public", "client-confidential-symmetric",
		"context-standalone-patient", "permission-offline", "permission-patient", "permission-user", "permission-v1",
		"permission-v2", "sso-openid-connect"} {
		if !slices.Contains(toStrings(h.disco["capabilities"]), c) {
			t.Errorf("capabilities lack %s", c)
		}
	}
	if got := toStrings(h.disco["code_challenge_methods_supported"]); !slices.Equal(got, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", got)
	}
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "introspection_endpoint", "revocation_endpoint", "jwks_uri"} {
		if s, _ := h.disco[k].(string); !strings.HasPrefix(s, h.base) {
			t.Errorf("%s = %q, want a URL under %s", k, s, h.base)
		}
	}
	var oidc map[string]any
	h.getJSON(h.base+"/.well-known/openid-configuration", &oidc)
	if oidc["issuer"] != h.base || oidc["jwks_uri"] != h.disco["jwks_uri"] {
		t.Errorf("openid-configuration issuer/jwks_uri = %v %v", oidc["issuer"], oidc["jwks_uri"])
	}

	var jwks jose.JSONWebKeySet
	h.getJSON(h.endpoint("jwks_uri"), &jwks)
	conf := h.registerApp(true, "approved")
	tok := h.launchAs(conf, "alice")
	raw, _ := tok.Extra("id_token").(string)
	sig, err := jose.ParseSigned(raw)
	if err != nil {
		t.Fatalf("parse id_token: %v", err)
	}
	kid := sig.Signatures[0].Header.KeyID
	keys := jwks.Key(kid)
	if len(keys) != 1 || sig.Signatures[0].Header.Algorithm != "RS256" {
		t.Fatalf("id_token kid %q alg %s not in JWKS", kid, sig.Signatures[0].Header.Algorithm)
	}
	if _, err := sig.Verify(keys[0].Key); err != nil {
		t.Fatalf("id_token signature: %v", err)
	}
}

// TestBrowserHeaders: CORS for registered app origins only, and
// anti-framing headers on every page.
func TestBrowserHeaders(t *testing.T) {
	h := newHarness(t, memoryStore)
	h.registerApp(true, "approved")
	preflight := func(origin string, path ...string) *http.Response {
		u := h.fhir + "/Patient"
		if len(path) > 0 {
			u = h.base + path[0]
		}
		req, _ := http.NewRequest("OPTIONS", u, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("preflight: %v", err)
		}
		resp.Body.Close()
		return resp
	}
	ok := preflight("https://app.example.test")
	if ok.StatusCode >= 300 || ok.Header.Get("Access-Control-Allow-Origin") != "https://app.example.test" {
		t.Errorf("preflight from the app's origin: %d ACAO=%q", ok.StatusCode, ok.Header.Get("Access-Control-Allow-Origin"))
	}
	// The public documents answer "*" (TestDiscoveryReadableFromAnyOrigin).
	for _, p := range []string{"/oauth/token", "/oauth/revoke"} {
		if r := preflight("https://app.example.test", p); r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.test" {
			t.Errorf("preflight for %s: %d ACAO=%q", p, r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	if r := preflight("https://app.example.test", "/login"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("the login page answers CORS: %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
	if bad := preflight("https://evil.example"); bad.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from an unknown origin allowed: %q", bad.Header.Get("Access-Control-Allow-Origin"))
	}
	for _, path := range []string{"/login", "/account/apps", "/fhir/metadata"} {
		resp, err := http.Get(h.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: X-Frame-Options=%q CSP=%q", path, resp.Header.Get("X-Frame-Options"), resp.Header.Get("Content-Security-Policy"))
		}
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
