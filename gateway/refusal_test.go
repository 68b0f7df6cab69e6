package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/store/memory"
)

func memoryStore(testing.TB) gateway.Store { return memory.New(nil) }

// TestAuthorizeRefusals: each bad authorization request is refused before
// any consent, the right way: a redirect with an error when the redirect
// URI is trusted, an error page otherwise.
func TestAuthorizeRefusals(t *testing.T) {
	h := newHarness(t, memoryStore)
	approved := h.registerApp(true, "approved")
	pending := h.registerApp(true, "pending")
	suspended := h.registerApp(true, "suspended")
	verifier := oauth2.GenerateVerifier()
	tests := []struct {
		name      string
		conf      *oauth2.Config
		opts      []oauth2.AuthCodeOption
		redirect  string
		wantError string // error= in the redirect; empty means an error page
		wantPage  int
		pageText  string
	}{
		{name: "PKCE missing", conf: approved, opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("aud", h.fhir)}, wantError: "invalid_request"},
		{name: "PKCE plain", conf: approved, opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("aud", h.fhir),
			oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain")}, wantError: "invalid_request"},
		{name: "wrong aud", conf: approved, opts: []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier),
			oauth2.SetAuthURLParam("aud", "https://evil.example/fhir")}, wantError: "invalid_request"},
		{name: "no aud", conf: approved, opts: []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, wantError: "invalid_request"},
		{name: "unknown redirect URI", conf: approved, redirect: "https://evil.example/cb", wantPage: 400, pageText: "not registered"},
		{name: "redirect URI differs by a slash", conf: approved, redirect: appRedirect + "/", wantPage: 400, pageText: "not registered"},
		{name: "pending app", conf: pending, wantPage: 403, pageText: "still reviewing"},
		{name: "suspended app", conf: suspended, wantPage: 403, pageText: "cannot connect to Riverbend Community Health Plan right now"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := *tc.conf
			if tc.redirect != "" {
				conf.RedirectURL = tc.redirect
			}
			opts := tc.opts
			if opts == nil {
				opts = []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", h.fhir)}
			}
			p := h.browser().get(conf.AuthCodeURL("state-123456789", opts...))
			loc := p.header.Get("Location")
			if tc.wantError != "" {
				u, err := url.Parse(loc)
				if err != nil || !strings.HasPrefix(loc, appRedirect) || u.Query().Get("error") != tc.wantError || u.Query().Get("state") != "state-123456789" {
					t.Fatalf("want redirect with error=%s and state, got %d Location=%q", tc.wantError, p.status, loc)
				}
				return
			}
			if p.status != tc.wantPage || loc != "" || !strings.Contains(p.body, tc.pageText) {
				t.Fatalf("want error page %d containing %q and no redirect, got %d Location=%q\n%s", tc.wantPage, tc.pageText, p.status, loc, p.body)
			}
		})
	}
}

// TestMemberDenies: Deny sends the member back with access_denied.
func TestMemberDenies(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(true, "approved")
	b := h.browser()
	l := h.newLaunch(conf)
	p := b.login(b.get(l.url), "alice")
	r := b.consent(p, "deny")
	u, _ := url.Parse(r.header.Get("Location"))
	if u == nil || u.Query().Get("error") != "access_denied" || u.Query().Get("state") != l.state || u.Query().Get("code") != "" {
		t.Fatalf("deny: want error=access_denied with state, got %d %q", r.status, r.header.Get("Location"))
	}
}

// TestCSRFRequired: forms posted without their CSRF token change nothing.
func TestCSRFRequired(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(true, "approved")
	b := h.browser()
	l := h.newLaunch(conf)
	login := b.get(l.url)
	if r := b.post(h.base+"/login", url.Values{"return_to": {"/account/apps"}, "username": {"alice"}, "password": {demoPassword}}); r.status != 403 {
		t.Fatalf("login without CSRF token: %d, want 403", r.status)
	}
	consent := b.login(login, "alice")
	r := b.post(h.base+consent.field(t, actionRE), url.Values{"decision": {"allow"}, "share": {"Patient"}})
	if r.status != 403 || r.header.Get("Location") != "" {
		t.Fatalf("consent without CSRF token: %d Location=%q, want 403 and no redirect", r.status, r.header.Get("Location"))
	}
	if r := b.post(h.base+consent.field(t, actionRE), url.Values{"csrf_token": {"forged"}, "decision": {"allow"}}); r.status != 403 {
		t.Fatalf("consent with a forged CSRF token: %d, want 403", r.status)
	}
	if r := b.post(h.base+"/demo/start", url.Values{}); r.status != 403 {
		t.Fatalf("demo app form without CSRF token: %d, want 403", r.status)
	}
	if grants, _ := h.gw.Store.ListGrants(context.Background(), "alice"); len(grants) != 0 {
		t.Fatalf("a grant was stored without a valid form: %+v", grants)
	}
}

// TestCodeReuse: a code works once; its second use is refused and revokes
// the tokens the first use issued (RFC 6749 §4.1.2).
func TestCodeReuse(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	l := h.newLaunch(conf)
	code := h.authorize(h.browser(), l, "alice")
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	_, err = conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
	var re *oauth2.RetrieveError
	if err == nil || !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("second exchange: %v, want invalid_grant", err)
	}
	if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 401 {
		t.Fatalf("token from a reused code still works: %d", code)
	}
}

// TestWrongVerifier: PKCE is checked at the token endpoint.
func TestWrongVerifier(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(true, "approved")
	l := h.newLaunch(conf)
	code := h.authorize(h.browser(), l, "alice")
	if _, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("exchange with the wrong code_verifier succeeded")
	}
}

// TestRefreshReuse: a rotated refresh token is refused, and its reuse ends
// the whole grant (RFC 9700 §4.14.2), including the newest tokens.
func TestRefreshReuse(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")
	fresh, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("a rotated refresh token was accepted")
	}
	if code, _ := h.fhirGet(fresh.AccessToken, "/Patient/"+h.patient["alice"]); code != 401 {
		t.Fatalf("the grant survived refresh-token reuse: %d", code)
	}
}

// TestShareLess: the member unticks claims; the token's scope is exactly
// what was left ticked, type by type, and cannot read claims.
func TestShareLess(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(true, "approved")
	b := h.browser()
	l := h.newLaunch(conf)
	code := h.authorize(b, l, "alice", "about-you", "coverage")
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	scope, _ := tok.Extra("scope").(string)
	want := "launch/patient openid fhirUser offline_access patient/Patient.read patient/Coverage.read patient/RelatedPerson.read"
	if scope != want {
		t.Fatalf("granted scope %q, want exactly what the member left ticked: %q", scope, want)
	}
	if code, _ := h.fhirGet(tok.AccessToken, "/Coverage?patient="+h.patient["alice"]); code != 200 {
		t.Fatalf("shared Coverage: %d", code)
	}
	if code, _ := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit?patient="+h.patient["alice"]); code != 403 {
		t.Fatalf("unshared EOB: %d, want 403", code)
	}
}

// TestSuspendCutsOff: suspending an app makes its tokens inactive at once.
func TestSuspendCutsOff(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")
	if active := h.introspect(conf, tok.AccessToken)["active"]; active != true {
		t.Fatalf("introspection before suspension: active=%v", active)
	}
	if code := h.admin("POST", "/admin/apps/"+conf.ClientID+"/suspend", testRefusal("leaked secret"), nil); code != 200 {
		t.Fatalf("suspend: %d", code)
	}
	if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 401 {
		t.Fatalf("FHIR with a suspended app's token: %d, want 401", code)
	}
	h.admin("POST", "/admin/apps/"+conf.ClientID+"/reinstate", testApproval, nil)
	if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 401 {
		t.Fatalf("a token from before the suspension came back after re-approval: %d", code)
	}
}

func (h *harness) introspect(conf *oauth2.Config, token string) map[string]any {
	h.t.Helper()
	resp, err := h.clientPost(conf, h.endpoint("introspection_endpoint"), url.Values{"token": {token}})
	if err != nil {
		h.t.Fatalf("introspect: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// TestIntrospection: an app learns about its own tokens, with the SMART
// context; another app learns nothing.
func TestIntrospection(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	other := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")
	got := h.introspect(conf, tok.AccessToken)
	if got["active"] != true || got["patient"] != h.patient["alice"] || got["client_id"] != conf.ClientID ||
		got["scope"] == nil || got["exp"] == nil || !strings.HasSuffix(fmt.Sprint(got["fhirUser"]), "Patient/"+h.patient["alice"]) {
		t.Fatalf("own token introspection: %v", got)
	}
	if got := h.introspect(other, tok.AccessToken); got["active"] != false || len(got) != 1 {
		t.Fatalf("another app's introspection of the token: %v, want only active=false", got)
	}
	bad := *conf
	bad.ClientSecret = "wrong"
	if got := h.introspect(&bad, tok.AccessToken); got["active"] == true {
		t.Fatalf("introspection with a wrong secret: %v", got)
	}
}
