package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// idTokenClaims returns the claims of a token response's id_token, unverified
// (TestDiscovery and TestGoOAuth2Client verify signatures).
func idTokenClaims(t *testing.T, tok *oauth2.Token) map[string]any {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token missing or malformed: %q", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("id_token payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("id_token payload: %v", err)
	}
	return claims
}

// TestPairwiseSubject: the id_token `sub` is pairwise (OpenID Connect Core
// §8.1): opaque, the same for one member and one app across sign-ins and
// refreshes, different for another app or another member, and never the
// member's login name; introspection tells the app the same subject and
// no username.
func TestPairwiseSubject(t *testing.T) {
	h := newHarness(t, memoryStore)
	appA, appB := h.registerApp(false, "approved"), h.registerApp(false, "approved")
	first := h.launchAs(appA, "alice")
	sub := func(tok *oauth2.Token) string {
		s, _ := idTokenClaims(t, tok)["sub"].(string)
		if s == "" {
			t.Fatal("id_token has no sub")
		}
		return s
	}
	aliceA := sub(first)
	if strings.Contains(strings.ToLower(aliceA), "alice") || len(aliceA) < 32 {
		t.Errorf("sub %q is not an opaque pairwise identifier", aliceA)
	}
	if again := sub(h.launchAs(appA, "alice")); again != aliceA {
		t.Errorf("alice's sub for one app changed between sign-ins: %q, then %q", aliceA, again)
	}
	refreshed, err := appA.TokenSource(context.Background(), &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if got := sub(refreshed); got != aliceA {
		t.Errorf("alice's sub changed on refresh: %q, then %q", aliceA, got)
	}
	if aliceB := sub(h.launchAs(appB, "alice")); aliceB == aliceA {
		t.Errorf("two apps see the same sub %q for alice: they could correlate her", aliceA)
	}
	if bobA := sub(h.launchAs(appA, "bob")); bobA == aliceA {
		t.Errorf("alice and bob have the same sub %q", bobA)
	}

	ir := h.introspect(appA, refreshed.AccessToken)
	if ir["sub"] != aliceA {
		t.Errorf("introspection sub = %v, want the id_token's %q", ir["sub"], aliceA)
	}
	if u, ok := ir["username"]; ok {
		t.Errorf("introspection tells the app the member's username %v", u)
	}

	var oidc map[string]any
	h.getJSON(h.base+"/.well-known/openid-configuration", &oidc)
	if got := toStrings(oidc["subject_types_supported"]); !slices.Equal(got, []string{"pairwise"}) {
		t.Errorf("subject_types_supported = %v, want [pairwise]", got)
	}
}
