package nodetest_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway/internal/nodetest"
)

// TestOIDCProviderSignsInAnAccount runs a code flow with PKCE and a nonce
// against the test provider, as a relying party would, and checks that the
// id_token verifies against the provider's JWKS and carries the account's
// claims; a wrong password is refused and a tampered id_token fails
// verification. The sign-in tests of the gateway rely on all of this.
func TestOIDCProviderSignsInAnAccount(t *testing.T) {
	const redirect = "http://127.0.0.1:1/cb"
	p := nodetest.StartOIDCProvider(t, nodetest.OIDCClient{ID: "rp", Secret: "rp-secret", RedirectURIs: []string{redirect}},
		nodetest.OIDCAccount{Sub: "sub-1", Password: "pw-1", Claims: map[string]any{"member_id": "M-1"}})
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: "rp", ClientSecret: "rp-secret", RedirectURL: redirect,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID}}
	verifier := provider.Verifier(&oidc.Config{ClientID: "rp"})

	signIn := func(password string) (code string, pg nodetest.Page) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirect) {
				code = req.URL.Query().Get("code")
				return http.ErrUseLastResponse
			}
			return nil
		}}
		pkce := oauth2.GenerateVerifier()
		start := nodetest.Get(t, c, conf.AuthCodeURL("state-123", oidc.Nonce("nonce-456"), oauth2.S256ChallengeOption(pkce)))
		pg = p.SignIn(t, c, start, "sub-1", password)
		if code != "" {
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			code, _ = tok.Extra("id_token").(string)
		}
		return code, pg
	}

	raw, _ := signIn("pw-1")
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id_token does not verify: %v", err)
	}
	var claims struct {
		MemberID string `json:"member_id"`
	}
	if err := idt.Claims(&claims); err != nil || idt.Subject != "sub-1" || idt.Nonce != "nonce-456" || claims.MemberID != "M-1" {
		t.Errorf("id_token sub=%q nonce=%q member_id=%q (%v), want sub-1, nonce-456, M-1", idt.Subject, idt.Nonce, claims.MemberID, err)
	}

	if raw, pg := signIn("wrong"); raw != "" || !p.OnProvider(pg) || pg.Status != http.StatusUnauthorized {
		t.Errorf("wrong password: got a code, or left the login page (%d %s)", pg.Status, pg.URL)
	}

	p.TamperNextIDToken(t)
	raw, _ = signIn("pw-1")
	if _, err := verifier.Verify(ctx, raw); err == nil {
		t.Error("tampered id_token verified")
	}
}
