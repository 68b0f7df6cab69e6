package gateway_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestRestrictedScopeEndToEnd: an app asks for a SMART v2 restricted scope
// the FHIR API enforces and one it cannot (a parameter it does not
// evaluate). The member is offered and the app granted only the first, and
// it is honoured: the search carrying it succeeds with only what it allows.
// Before, both were granted and every request on those types answered 403.
func TestRestrictedScopeEndToEnd(t *testing.T) {
	h := newHarness(t, memoryStore)
	pharmacy := "patient/ExplanationOfBenefit.rs?type=http://terminology.hl7.org/CodeSystem/claim-type|pharmacy"
	unenforceable := "patient/Coverage.rs?category=x"
	scopes := []string{"launch/patient", "openid", pharmacy, unenforceable}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if code := h.admin("POST", "/admin/apps", map[string]any{
		"name": "Pharmacy Tracker", "developer": "Test Co", "redirect_uris": []string{appRedirect}, "public": true,
		"privacy_policy_url": "https://app.example.test/privacy", "scope": strings.Join(scopes, " "),
	}, &reg); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	if code := h.admin("POST", "/admin/apps/"+reg.ClientID+"/approve", testApproval, nil); code != 200 {
		t.Fatalf("approve: %d", code)
	}
	conf := &oauth2.Config{ClientID: reg.ClientID, RedirectURL: appRedirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: h.endpoint("authorization_endpoint"), TokenURL: h.endpoint("token_endpoint"), AuthStyle: oauth2.AuthStyleInParams}}
	b := h.browser()
	l := h.newLaunch(conf)
	p := b.get(l.url)
	p = b.login(p, "alice")
	if !strings.Contains(p.body, "only records where type=") || strings.Contains(p.body, "category=x") {
		t.Fatalf("consent page should offer the enforced restriction only:\n%s", p.body)
	}
	code := h.codeFrom(b.consent(p, "allow", "claims", "coverage"), l.state)
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	granted, _ := tok.Extra("scope").(string)
	if !strings.Contains(granted, pharmacy) || strings.Contains(granted, "Coverage") {
		t.Fatalf("granted %q, want the pharmacy restriction and nothing on Coverage", granted)
	}
	status, bundle := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit?type="+url.QueryEscape("http://terminology.hl7.org/CodeSystem/claim-type|pharmacy"))
	entries, _ := bundle["entry"].([]any)
	if status != 200 || len(entries) == 0 {
		t.Fatalf("restricted search: %d, %d entries", status, len(entries))
	}
	for _, e := range entries {
		res := e.(map[string]any)["resource"].(map[string]any)
		coding := res["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if coding["code"] != "pharmacy" {
			t.Errorf("restricted search returned a %v claim", coding["code"])
		}
	}
	if status, _ := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit"); status != 403 {
		t.Errorf("search without the restriction: %d, want 403", status)
	}
}
