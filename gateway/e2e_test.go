package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// TestStandaloneLaunch is the walking skeleton, end to end on each store:
// register and approve an app through the admin API, sign in and consent
// through the HTML forms, exchange the code with golang.org/x/oauth2 and
// PKCE S256, read alice's data, fail to read bob's, refresh, revoke.
func TestStandaloneLaunch(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			alice, bob := h.patient["alice"], h.patient["bob"]

			if got := tok.Extra("patient"); got != alice {
				t.Errorf("token patient = %v, want %s", got, alice)
			}
			if tok.TokenType != "Bearer" {
				t.Errorf("token_type = %q, want Bearer", tok.TokenType)
			}
			h.checkIDToken(tok, "Patient/"+alice)
			if tok.RefreshToken == "" {
				t.Fatal("no refresh_token although offline_access was granted")
			}

			if code, body := h.fhirGet(tok.AccessToken, "/Patient/"+alice); code != 200 || body["id"] != alice {
				t.Fatalf("read own Patient: %d %v", code, body["id"])
			}
			code, bundle := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit?patient="+alice)
			if code != 200 || len(entries(bundle)) == 0 {
				t.Fatalf("search own EOBs: %d, %d entries", code, len(entries(bundle)))
			}
			if code, _ := h.fhirGet(tok.RefreshToken, "/Patient/"+alice); code != 401 {
				t.Fatalf("a refresh token was accepted as a bearer token: %d", code)
			}
			if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+bob); code != 404 {
				t.Fatalf("read bob's Patient with alice's token: %d, want 404", code)
			}

			// Refresh: a new pair; the old refresh token is spent.
			fresh, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
				t.Fatal("refresh did not rotate the tokens")
			}
			if code, _ := h.fhirGet(fresh.AccessToken, "/Coverage?patient="+alice); code != 200 {
				t.Fatalf("search Coverage with refreshed token: %d", code)
			}

			// The app revokes its refresh token: the whole grant ends.
			h.revoke(conf, fresh.RefreshToken)
			if code, _ := h.fhirGet(fresh.AccessToken, "/Patient/"+alice); code != 401 {
				t.Fatalf("FHIR after revocation: %d, want 401", code)
			}
			if _, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err == nil {
				t.Fatal("refresh after revocation succeeded")
			}
		})
	}
}

// TestMemberRevokes: the member ends the grant from their connected-apps
// page; every token of it stops working at once.
func TestMemberRevokes(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			conf := h.registerApp(true, "approved")
			b := h.browser()
			l := h.newLaunch(conf)
			tok, err := conf.Exchange(context.Background(), h.authorize(b, l, "alice"), oauth2.VerifierOption(l.verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 200 {
				t.Fatalf("read before revoke: %d", code)
			}
			p := b.get(h.base + "/account/apps")
			if p.status != 200 || !strings.Contains(p.body, "Test Tracker") {
				t.Fatalf("connected apps page: %d\n%s", p.status, p.body)
			}
			r := b.revokeApp(p, conf.ClientID)
			if r.status != 200 || strings.Count(r.body, "<article") != 0 || !strings.Contains(r.body, "Access for Test Tracker has ended") {
				t.Fatalf("after revoke the app is still listed: %d\n%s", r.status, r.body)
			}
			if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 401 {
				t.Fatalf("access token after member revoked: %d, want 401", code)
			}
			if _, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
				t.Fatal("refresh token works after the member revoked")
			}
		})
	}
}

// TestConcurrentRefresh: 50 refreshes of one token at once give exactly one
// new token pair, and no server error.
func TestConcurrentRefresh(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			const n = 50
			var wg sync.WaitGroup
			statuses := make([]int, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i] = h.tokenStatus(conf, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
				}()
			}
			wg.Wait()
			ok, refused := 0, 0
			for _, s := range statuses {
				switch {
				case s == 200:
					ok++
				case s == 400 || s == 401:
					refused++
				default:
					t.Errorf("refresh answered %d", s)
				}
			}
			if ok != 1 || refused != n-1 {
				t.Fatalf("%d refreshes succeeded and %d were refused, want 1 and %d", ok, refused, n-1)
			}
		})
	}
}

// launchAs runs a whole launch for a member and exchanges the code.
func (h *harness) launchAs(conf *oauth2.Config, user string) *oauth2.Token {
	h.t.Helper()
	l := h.newLaunch(conf)
	code := h.authorize(h.browser(), l, user)
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		h.t.Fatalf("exchange code: %v", err)
	}
	return tok
}

// clientPost posts a form to an OAuth endpoint, authenticating as the
// client with client_secret_basic (RFC 6749 §2.3.1 form-encodes the parts).
func (h *harness) clientPost(conf *oauth2.Config, endpoint string, form url.Values) (*http.Response, error) {
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(conf.ClientID), url.QueryEscape(conf.ClientSecret))
	return http.DefaultClient.Do(req)
}

// tokenStatus posts to the token endpoint as the client and returns the status.
func (h *harness) tokenStatus(conf *oauth2.Config, form url.Values) int {
	resp, err := h.clientPost(conf, conf.Endpoint.TokenURL, form)
	if err != nil {
		h.t.Errorf("token request: %v", err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// revoke revokes a token at the endpoint the discovery document names.
func (h *harness) revoke(conf *oauth2.Config, token string) {
	h.t.Helper()
	resp, err := h.clientPost(conf, h.endpoint("revocation_endpoint"), url.Values{"token": {token}})
	if err != nil {
		h.t.Fatalf("revoke: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		h.t.Fatalf("revoke: %s", resp.Status)
	}
}

// checkIDToken checks the id_token's fhirUser names the member's Patient.
// (The signature is checked against the JWKS in TestDiscovery.)
func (h *harness) checkIDToken(tok *oauth2.Token, wantSuffix string) {
	h.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		h.t.Fatalf("id_token missing or malformed: %q", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		h.t.Fatalf("id_token payload: %v", err)
	}
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	fu, _ := claims["fhirUser"].(string)
	if !strings.HasSuffix(fu, wantSuffix) || claims["iss"] != h.base {
		h.t.Fatalf("id_token claims: fhirUser=%q iss=%v", fu, claims["iss"])
	}
	if code, body := h.fhirGet(tok.AccessToken, strings.TrimPrefix(fu, h.fhir)); code != 200 || body["resourceType"] != "Patient" {
		h.t.Fatalf("fhirUser %s does not resolve: %d", fu, code)
	}
}

func entries(bundle map[string]any) []any {
	e, _ := bundle["entry"].([]any)
	return e
}

// TestConfidentialClientAuth: a confidential app may authenticate at the
// token endpoint with client_secret_basic or client_secret_post; a wrong
// secret is invalid_client and spends nothing.
func TestConfidentialClientAuth(t *testing.T) {
	h := newHarness(t, memoryStore)
	for _, tc := range []struct {
		name   string
		style  oauth2.AuthStyle
		secret string
		want   string // "" for success, else the RFC 6749 error code
	}{
		{"client_secret_basic", oauth2.AuthStyleInHeader, "", ""},
		{"client_secret_post", oauth2.AuthStyleInParams, "", ""},
		{"wrong secret", oauth2.AuthStyleInHeader, "not-the-secret", "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := h.registerApp(false, "approved")
			conf.Endpoint.AuthStyle = tc.style
			l := h.newLaunch(conf)
			code := h.authorize(h.browser(), l, "bob")
			if tc.secret != "" {
				conf.ClientSecret = tc.secret
			}
			tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
			if tc.want == "" {
				if err != nil || tok.Extra("patient") != h.patient["bob"] {
					t.Fatalf("exchange: %v", err)
				}
				return
			}
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != tc.want {
				t.Fatalf("exchange with a wrong secret: %v, want %s", err, tc.want)
			}
		})
	}
}

// TestConnectedAppsGroupsGrants: an app the member allowed twice is one row
// on their page, and one Revoke ends every token of both grants; another
// app's grant is untouched.
func TestConnectedAppsGroupsGrants(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	other := h.registerApp(false, "approved")
	first, second, kept := h.launchAs(conf, "alice"), h.launchAs(conf, "alice"), h.launchAs(other, "alice")
	b := h.browser()
	p := b.login(b.get(h.base+"/login?return_to=/account/apps"), "alice")
	if n := strings.Count(p.body, "<article"); n != 2 {
		t.Fatalf("connected apps page shows %d rows for 2 apps:\n%s", n, p.body)
	}
	if r := b.revokeApp(p, conf.ClientID); r.status != 200 || strings.Count(r.body, "<article") != 1 {
		t.Fatalf("after revoking one app: %d\n%s", r.status, r.body)
	}
	for name, tok := range map[string]string{"first": first.AccessToken, "second": second.AccessToken} {
		if code, _ := h.fhirGet(tok, "/Patient/"+h.patient["alice"]); code != 401 {
			t.Errorf("%s grant's token after revoking the app: %d, want 401", name, code)
		}
	}
	if code, _ := h.fhirGet(kept.AccessToken, "/Patient/"+h.patient["alice"]); code != 200 {
		t.Errorf("the other app's token after revoking the first app: %d, want 200", code)
	}
	bob := h.browser()
	bp := bob.login(bob.get(h.base+"/login?return_to=/account/apps"), "bob")
	if r := bob.post(h.base+"/account/apps/"+other.ClientID+"/revoke", url.Values{"csrf_token": {bp.field(t, csrfRE)}}); r.status != 404 {
		t.Errorf("bob revoking an app only alice connected: %d, want 404", r.status)
	}
	if code, _ := h.fhirGet(kept.AccessToken, "/Patient/"+h.patient["alice"]); code != 200 {
		t.Errorf("bob's revoke touched alice's grant: %d", code)
	}
}
