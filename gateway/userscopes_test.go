package gateway_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestUserScopesReadTheMembersOwn: an app asking for user/ scopes, as the
// CARIN test kit does by default, is granted them as asked (the token's
// scope says user/…), and they reach exactly what the patient/ scopes
// would: the member's own records and shared reference data, never
// another member's. Discovery advertises permission-user and the user/
// scopes.
func TestUserScopesReadTheMembersOwn(t *testing.T) {
	h := newHarness(t, memoryStore)
	if !slices.Contains(toStrings(h.disco["capabilities"]), "permission-user") {
		t.Errorf("capabilities lack permission-user: %v", h.disco["capabilities"])
	}
	for _, s := range []string{"user/*.read", "user/ExplanationOfBenefit.read", "user/Organization.read"} {
		if !slices.Contains(toStrings(h.disco["scopes_supported"]), s) {
			t.Errorf("scopes_supported lacks %s", s)
		}
	}
	conf := h.registerApp(false, "approved") // registered for patient/*.read
	conf.Scopes = []string{"launch/patient", "openid", "fhirUser", "offline_access", "user/ExplanationOfBenefit.read", "user/Coverage.read",
		"user/Patient.read", "user/Organization.read", "user/Practitioner.read"}
	tok := h.launchAs(conf, "alice")
	granted := strings.Fields(tok.Extra("scope").(string))
	for _, want := range []string{"launch/patient", "openid", "fhirUser", "user/ExplanationOfBenefit.read", "user/Coverage.read", "user/Patient.read"} {
		if !slices.Contains(granted, want) {
			t.Errorf("granted %v lacks %s", granted, want)
		}
	}
	for _, s := range granted {
		if strings.HasPrefix(s, "patient/") {
			t.Errorf("granted %s, which was not asked for", s)
		}
	}
	alice, bob := h.patient["alice"], h.patient["bob"]
	if code, body := h.fhirGet(tok.AccessToken, "/Patient/"+alice); code != 200 || body["id"] != alice {
		t.Fatalf("read own Patient with user/Patient.read: %d %v", code, body["id"])
	}
	if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+bob); code != 404 {
		t.Errorf("read bob's Patient with alice's user/ token: %d, want 404", code)
	}
	code, bundle := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit?_count=100")
	if code != 200 || len(entries(bundle)) == 0 {
		t.Fatalf("search EOBs with user/ExplanationOfBenefit.read: %d, %d entries", code, len(entries(bundle)))
	}
	for _, e := range entries(bundle) {
		res := e.(map[string]any)["resource"].(map[string]any)
		if ref := res["patient"].(map[string]any)["reference"]; ref != "Patient/"+alice {
			t.Errorf("EOB %v of %v in alice's search", res["id"], ref)
		}
	}
	if code, bundle := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit?patient="+bob); code != 200 || len(entries(bundle)) != 0 {
		t.Errorf("search naming bob: %d, %d entries, want an empty Bundle", code, len(entries(bundle)))
	}
	if code, _ := h.fhirGet(tok.AccessToken, "/RelatedPerson?patient="+alice); code != 403 {
		t.Errorf("RelatedPerson without a scope for it: %d, want 403", code)
	}
	fresh, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh a grant of user/ scopes: %v", err)
	}
	if got := strings.Fields(fresh.Extra("scope").(string)); !slices.Contains(got, "user/Coverage.read") {
		t.Errorf("refreshed scope %v", got)
	}
	if code, _ := h.fhirGet(fresh.AccessToken, "/Coverage?patient="+alice); code != 200 {
		t.Errorf("Coverage with the refreshed user/ token: %d", code)
	}
}
