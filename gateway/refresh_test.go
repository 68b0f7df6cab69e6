package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// tokenResponse is a token endpoint answer, success or error.
type tokenResponse struct {
	status       int
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
}

// postToken posts a form to the token endpoint exactly as given: no client
// authentication is added.
func (h *harness) postToken(form url.Values) tokenResponse {
	h.t.Helper()
	resp, err := http.PostForm(h.endpoint("token_endpoint"), form)
	if err != nil {
		h.t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	out := tokenResponse{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		h.t.Fatalf("token response: %v", err)
	}
	return out
}

// TestPublicClientRefreshWithoutClientID: the SMART JavaScript client
// refreshes with only grant_type and refresh_token (no client_id). A public
// app's refresh token identifies the app; a confidential app must still
// authenticate, and reuse detection still ends the grant.
func TestPublicClientRefreshWithoutClientID(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			public := h.launchAs(h.registerApp(true, "approved"), "alice")
			refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {public.RefreshToken}}
			fresh := h.postToken(refresh)
			if fresh.status != 200 || fresh.AccessToken == "" || fresh.RefreshToken == "" {
				t.Fatalf("public refresh without client_id: %d %s", fresh.status, fresh.Error)
			}
			if code, _ := h.fhirGet(fresh.AccessToken, "/Patient/"+h.patient["alice"]); code != 200 {
				t.Fatalf("read with the refreshed token: %d", code)
			}
			// The spent token again, without client_id: reuse, the grant ends.
			if again := h.postToken(refresh); again.status != 400 || again.Error != "invalid_grant" {
				t.Fatalf("reused refresh token without client_id: %d %q, want 400 invalid_grant", again.status, again.Error)
			}
			if code, _ := h.fhirGet(fresh.AccessToken, "/Patient/"+h.patient["alice"]); code != 401 {
				t.Fatalf("token of a grant ended by reuse: %d, want 401", code)
			}

			conf := h.registerApp(false, "approved")
			confidential := h.launchAs(conf, "alice")
			noAuth := h.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {confidential.RefreshToken}})
			if noAuth.status != 401 || noAuth.Error != "invalid_client" {
				t.Fatalf("confidential refresh without credentials: %d %q, want 401 invalid_client", noAuth.status, noAuth.Error)
			}
			if _, err := conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: confidential.RefreshToken}).Token(); err != nil {
				t.Fatalf("the refused request spent the refresh token: %v", err)
			}

			unknown := h.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("x", 40) + "." + strings.Repeat("y", 40)}})
			if unknown.status != 400 || unknown.Error != "invalid_grant" {
				t.Fatalf("unknown refresh token without client_id: %d %q, want 400 invalid_grant", unknown.status, unknown.Error)
			}
		})
	}
}

// refreshAs refreshes as the confidential app conf, with scope if not
// empty, and decodes the answer whatever its status.
func (h *harness) refreshAs(conf *oauth2.Config, refreshToken, scope string) tokenResponse {
	h.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	if scope != "" {
		form.Set("scope", scope)
	}
	resp, err := h.clientPost(conf, conf.Endpoint.TokenURL, form)
	if err != nil {
		h.t.Fatalf("refresh: %v", err)
	}
	defer resp.Body.Close()
	out := tokenResponse{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		h.t.Fatalf("refresh response: %v", err)
	}
	return out
}

// TestRefreshScope: a refresh may ask for less than the grant and gets an
// access token for exactly that (SMART App Launch 2 §7.1, RFC 6749 §6);
// asking for more is invalid_scope and spends nothing; the new refresh
// token keeps the whole grant, so the app can widen back to it later.
func TestRefreshScope(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			full := tok.Extra("scope").(string)
			alice := "/Patient/" + h.patient["alice"]
			coverage := "/Coverage?patient=" + h.patient["alice"]

			narrow := h.refreshAs(conf, tok.RefreshToken, "patient/Patient.read offline_access")
			if narrow.status != 200 || narrow.Scope != "patient/Patient.read offline_access" {
				t.Fatalf("narrowing refresh: %d %q scope %q", narrow.status, narrow.Error, narrow.Scope)
			}
			if code, _ := h.fhirGet(narrow.AccessToken, alice); code != 200 {
				t.Errorf("narrowed token reading Patient: %d, want 200", code)
			}
			if code, _ := h.fhirGet(narrow.AccessToken, coverage); code != 403 {
				t.Errorf("narrowed token searching Coverage: %d, want 403", code)
			}
			if narrow.IDToken != "" {
				t.Errorf("an id_token was issued although openid was not asked for")
			}

			for _, beyond := range []string{"patient/Patient.read user/Patient.read", "patient/*.write", "profile"} {
				if r := h.refreshAs(conf, narrow.RefreshToken, beyond); r.status != 400 || r.Error != "invalid_scope" {
					t.Errorf("refresh asking for %q: %d %q, want 400 invalid_scope", beyond, r.status, r.Error)
				}
			}

			wide := h.refreshAs(conf, narrow.RefreshToken, "")
			if wide.status != 200 || !sameScopes(wide.Scope, full) {
				t.Fatalf("refresh without scope after narrowing: %d %q scope %q, want the grant's %q", wide.status, wide.Error, wide.Scope, full)
			}
			if code, _ := h.fhirGet(wide.AccessToken, coverage); code != 200 {
				t.Errorf("widened-back token searching Coverage: %d, want 200", code)
			}
		})
	}
}

// sameScopes compares two space-separated scope lists as sets.
func sameScopes(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
