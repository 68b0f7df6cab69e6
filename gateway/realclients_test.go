package gateway_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"
	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/internal/nodetest"
)

// registerClient registers an app through the admin API with the given
// redirect URI and extra registration fields, approves it, and returns its
// client id and secret (empty for public and private_key_jwt apps).
func (h *harness) registerClient(redirect string, fields map[string]any) (id, secret string) {
	h.t.Helper()
	body := map[string]any{
		"name": "Real Client", "developer": "Test Co", "redirect_uris": []string{redirect},
		"privacy_policy_url": "https://app.example.test/privacy",
	}
	maps.Copy(body, fields)
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Description  string `json:"error_description"`
	}
	if code := h.admin("POST", "/admin/apps", body, &reg); code != http.StatusCreated {
		h.t.Fatalf("register app: %d %s", code, reg.Description)
	}
	if code := h.admin("POST", "/admin/apps/"+reg.ClientID+"/approve", testApproval, nil); code != 200 {
		h.t.Fatalf("approve app: %d", code)
	}
	return reg.ClientID, reg.ClientSecret
}

// auditEvents returns the audit events of one app, oldest first.
func (h *harness) auditEvents(clientID string) []apps.Event {
	h.t.Helper()
	var out struct {
		Events []apps.Event `json:"events"`
	}
	if code := h.admin("GET", "/admin/audit?limit=1000", nil, &out); code != 200 {
		h.t.Fatalf("audit: %d", code)
	}
	var mine []apps.Event
	for _, e := range slices.Backward(out.Events) {
		if e.ClientID == clientID {
			mine = append(mine, e)
		}
	}
	return mine
}

// smartAppServer serves the test SMART app (nodetest's js/smart-app) and the
// SMART JavaScript client exactly as npm installed it, on an origin of
// their own, as a real browser app is.
func smartAppServer(t *testing.T) *httptest.Server {
	t.Helper()
	nodetest.Require(t)
	dir := nodetest.Dir()
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(filepath.Join(dir, "js", "smart-app"))))
	mux.HandleFunc("/fhir-client.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(dir, "node_modules", "fhirclient", "build", "fhir-client.js"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// fhirclientResult is what the test SMART app reports on its page.
type fhirclientResult struct {
	Error               string         `json:"error"`
	PatientID           string         `json:"patientId"`
	Scope               string         `json:"scope"`
	Patient             resourceReport `json:"patient"`
	EOBs                resourceReport `json:"eobs"`
	Refreshed           bool           `json:"refreshed"`
	ScopeAfterRefresh   string         `json:"scopeAfterRefresh"`
	PatientAfterRefresh resourceReport `json:"patientAfterRefresh"`
	Visited             []string       `json:"visited"`
}

type resourceReport struct {
	ResourceType string   `json:"resourceType"`
	ID           string   `json:"id"`
	Entries      []string `json:"entries"`
}

// TestFHIRClientInChromium: the SMART JavaScript client (fhirclient from
// npm, unmodified) in headless Chromium does a standalone launch as a
// public app: the member signs in and allows on the gateway's pages, the
// app reads the Patient and an ExplanationOfBenefit search, refreshes its
// token (fhirclient sends no client_id on refresh) and reads again.
func TestFHIRClientInChromium(t *testing.T) {
	chrome := chromiumPath(t)
	app := smartAppServer(t)
	h := newHarness(t, memoryStore)
	clientID, _ := h.registerClient(app.URL+"/app.html", map[string]any{"public": true})
	launch := app.URL + "/launch.html?" + url.Values{"server": {h.fhir}, "client": {clientID},
		"scope": {"launch/patient openid fhirUser offline_access patient/*.read"}}.Encode()

	out := nodetest.Run(t, 90*time.Second, "fhirclient-chromium.mjs",
		[]string{"CHROMIUM=" + chrome, "LAUNCH_URL=" + launch, "MEMBER=alice", "PASSWORD=" + demoPassword})
	var res fhirclientResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("the script's answer is not JSON: %v\n%s", err, out)
	}
	if res.Error != "" {
		t.Fatalf("the app failed: %s (pages: %v)", res.Error, res.Visited)
	}
	alice := h.patient["alice"]
	if want := []string{"/login", "/oauth/authorize", "/app.html"}; !slices.Equal(res.Visited, want) {
		t.Errorf("pages passed = %v, want %v", res.Visited, want)
	}
	if res.PatientID != alice || res.Patient.ResourceType != "Patient" || res.Patient.ID != alice {
		t.Errorf("launch context and Patient read: %q %+v, want %s", res.PatientID, res.Patient, alice)
	}
	if len(res.EOBs.Entries) != 7 {
		t.Errorf("ExplanationOfBenefit search found %v, want alice's 7 claims", res.EOBs.Entries)
	}
	for _, e := range res.EOBs.Entries {
		if !strings.HasPrefix(e, "ExplanationOfBenefit/") {
			t.Errorf("search entry %s", e)
		}
	}
	if !res.Refreshed || !strings.Contains(res.ScopeAfterRefresh, "offline_access") || res.PatientAfterRefresh.ID != alice {
		t.Errorf("after refresh: rotated=%v scope=%q Patient=%+v", res.Refreshed, res.ScopeAfterRefresh, res.PatientAfterRefresh)
	}
	var grants []string
	for _, e := range h.auditEvents(clientID) {
		if e.Action == "token" && e.Outcome == "success" {
			grants = append(grants, e.Reason)
		}
	}
	if want := []string{"authorization_code", "refresh_token"}; !slices.Equal(grants, want) {
		t.Errorf("the gateway issued tokens for %v, want %v", grants, want)
	}
}

// memberAllows signs the member in and allows on the consent page of an
// authorization URL, in a fresh browser, and returns the redirect back to
// the app.
func (h *harness) memberAllows(authURL, user string) string {
	h.t.Helper()
	b := h.browser()
	p := b.get(authURL)
	if p.url.Path == "/login" {
		p = b.login(p, user)
	}
	if p.status != 200 || !strings.Contains(p.body, "HIPAA") {
		h.t.Fatalf("want the consent page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	r := b.consent(p, "allow")
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, appRedirect) {
		h.t.Fatalf("want a redirect to the app, got %d Location=%q", r.status, loc)
	}
	return loc
}

// TestOpenIDClientNode: openid-client (Node, unmodified) as a confidential
// relying party: discovery from the issuer, code + PKCE S256, the id_token
// verified against the published JWKS with its issuer, audience and nonce,
// a FHIR read, then a refresh and a read with the new token.
func TestOpenIDClientNode(t *testing.T) {
	nodetest.Require(t)
	h := newHarness(t, memoryStore)
	clientID, secret := h.registerClient(appRedirect, nil)
	env := []string{"ISSUER=" + h.base, "CLIENT_ID=" + clientID, "CLIENT_SECRET=" + secret,
		"REDIRECT_URI=" + appRedirect, "FHIR_BASE=" + h.fhir,
		"SCOPE=launch/patient openid fhirUser offline_access patient/*.read"}
	var start struct{ URL, Verifier, State, Nonce string }
	if err := json.Unmarshal([]byte(nodetest.Run(t, 30*time.Second, "openid-client.mjs", env, "authorize")), &start); err != nil {
		t.Fatalf("authorize phase: %v", err)
	}
	if u, err := url.Parse(start.URL); err != nil || u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("aud") != h.fhir {
		t.Fatalf("authorization URL %q lacks PKCE S256 or aud", start.URL)
	}
	callback := h.memberAllows(start.URL, "alice")

	env = append(env, "CALLBACK_URL="+callback, "VERIFIER="+start.Verifier, "STATE="+start.State, "NONCE="+start.Nonce)
	var got struct {
		Sub, Iss, Nonce, FHIRUser, Scope, Patient, RefreshedSub string
		Aud                                                     any
		JWKSKids                                                []string
		Read, ReadAfterRefresh                                  struct {
			Status           int
			ResourceType, ID string
		}
		Refreshed bool
	}
	if err := json.Unmarshal([]byte(nodetest.Run(t, 30*time.Second, "openid-client.mjs", env, "callback")), &got); err != nil {
		t.Fatalf("callback phase: %v", err)
	}
	var jwks struct{ Keys []struct{ Kid string } }
	h.getJSON(h.base+"/oauth/jwks", &jwks)
	alice := h.patient["alice"]
	switch {
	case got.Iss != h.base || got.Nonce != start.Nonce || !audHas(got.Aud, clientID):
		t.Errorf("id_token iss=%q nonce=%q aud=%v", got.Iss, got.Nonce, got.Aud)
	case len(got.JWKSKids) != 1 || len(jwks.Keys) != 1 || got.JWKSKids[0] != jwks.Keys[0].Kid:
		t.Errorf("openid-client verified the id_token with keys %v, the gateway publishes %v", got.JWKSKids, jwks.Keys)
	case got.Sub == "" || got.Sub == "alice" || got.FHIRUser != h.fhir+"/Patient/"+alice:
		t.Errorf("id_token sub=%q fhirUser=%q", got.Sub, got.FHIRUser)
	case got.Patient != alice || got.Read.Status != 200 || got.Read.ID != alice:
		t.Errorf("launch context %q, read %+v", got.Patient, got.Read)
	case !got.Refreshed || got.RefreshedSub != got.Sub || got.ReadAfterRefresh.Status != 200 || got.ReadAfterRefresh.ID != alice:
		t.Errorf("refresh: rotated=%v sub=%q read %+v", got.Refreshed, got.RefreshedSub, got.ReadAfterRefresh)
	}
}

// audHas reports whether a JWT aud claim (a string or a list) names want.
func audHas(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return slices.Contains(a, any(want))
	}
	return false
}

// TestGoOAuth2Client: golang.org/x/oauth2 as a confidential app, configured
// only from discovery: code + PKCE S256, the id_token verified against the
// JWKS (signature, issuer, audience, nonce, expiry), then a refresh through
// a TokenSource and a read with the new token.
func TestGoOAuth2Client(t *testing.T) {
	h := newHarness(t, memoryStore)
	var disco struct {
		Issuer   string `json:"issuer"`
		AuthURL  string `json:"authorization_endpoint"`
		TokenURL string `json:"token_endpoint"`
		JWKSURI  string `json:"jwks_uri"`
	}
	h.getJSON(h.base+"/.well-known/openid-configuration", &disco)
	clientID, secret := h.registerClient(appRedirect, nil)
	conf := &oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: appRedirect,
		Scopes:   []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.read"},
		Endpoint: oauth2.Endpoint{AuthURL: disco.AuthURL, TokenURL: disco.TokenURL, AuthStyle: oauth2.AuthStyleInHeader}}

	verifier, state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("aud", h.fhir), oauth2.SetAuthURLParam("nonce", nonce))
	cb, _ := url.Parse(h.memberAllows(authURL, "bob"))
	if cb.Query().Get("state") != state {
		t.Fatalf("state %q, want %q", cb.Query().Get("state"), state)
	}
	tok, err := conf.Exchange(context.Background(), cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	var jwks jose.JSONWebKeySet
	h.getJSON(disco.JWKSURI, &jwks)
	claims := verifyIDToken(t, tok, jwks, disco.Issuer, clientID, nonce)
	if claims.Subject == "" || claims.Subject == "bob" {
		t.Errorf("id_token sub %q", claims.Subject)
	}

	fresh, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if again := verifyIDToken(t, fresh, jwks, disco.Issuer, clientID, ""); again.Subject != claims.Subject {
		t.Errorf("sub changed on refresh: %q, then %q", claims.Subject, again.Subject)
	}
	resp, err := conf.Client(context.Background(), fresh).Get(h.fhir + "/Patient/" + h.patient["bob"])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || fresh.AccessToken == tok.AccessToken {
		t.Errorf("read with the refreshed token: %d (rotated: %v)", resp.StatusCode, fresh.AccessToken != tok.AccessToken)
	}
}

// verifyIDToken checks a token response's id_token as a relying party must
// (OpenID Connect Core §3.1.3.7): RS256 signature by a key of the JWKS,
// issuer, audience, expiry and, when given, the nonce.
func verifyIDToken(t *testing.T, tok *oauth2.Token, jwks jose.JSONWebKeySet, issuer, clientID, nonce string) jwt.Claims {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	parsed, err := jwt.ParseSigned(raw)
	if err != nil || len(parsed.Headers) != 1 || parsed.Headers[0].Algorithm != "RS256" {
		t.Fatalf("id_token %q: %v", raw, err)
	}
	keys := jwks.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("id_token kid %q is not in the JWKS", parsed.Headers[0].KeyID)
	}
	var std jwt.Claims
	var extra struct {
		Nonce string `json:"nonce"`
	}
	if err := parsed.Claims(keys[0].Key, &std, &extra); err != nil {
		t.Fatalf("id_token signature: %v", err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: issuer, Audience: jwt.Audience{clientID}, Time: time.Now()}, time.Minute); err != nil {
		t.Fatalf("id_token claims: %v", err)
	}
	if nonce != "" && extra.Nonce != nonce {
		t.Fatalf("id_token nonce %q, want %q", extra.Nonce, nonce)
	}
	return std
}
