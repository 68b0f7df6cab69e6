package fhir

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

const claimTypeSystem = "http://terminology.hl7.org/CodeSystem/claim-type"

// TestRestrictedScopeIsEnforced pins SMART v2 search restrictions
// (patient/ExplanationOfBenefit.rs?type=…): a search carrying the
// restriction returns only what it allows, a search without it is refused
// with insufficient_scope, and a read of a resource outside it answers as
// a missing one. Before, such a token was refused on every request.
func TestRestrictedScopeIsEnforced(t *testing.T) {
	e := newTestEnv(t)
	pharmacy := claimTypeSystem + "|pharmacy"
	tokens := e.h.Tokens.(fakeTokens)
	tokens["alice-pharmacy"] = Access{Patient: e.alice.PatientID, ClientID: "app-6", Member: e.alice.Username,
		Scopes: []string{"patient/ExplanationOfBenefit.rs?type=" + pharmacy}}

	b := decodeBundle(t, e.get("alice-pharmacy", "/fhir/ExplanationOfBenefit?type="+url.QueryEscape(pharmacy)))
	all := e.searchAll("alice", "ExplanationOfBenefit")
	if len(b.Entry) == 0 || len(b.Entry) >= len(all) {
		t.Fatalf("restricted search returned %d of alice's %d claims", len(b.Entry), len(all))
	}
	for _, entry := range b.Entry {
		if !strings.Contains(string(entry.Resource), `"code":"pharmacy"`) {
			t.Errorf("restricted search returned a non-pharmacy claim: %s", entry.FullURL)
		}
	}

	w := e.get("alice-pharmacy", "/fhir/ExplanationOfBenefit")
	if code, diag := outcomeCode(t, w, http.StatusForbidden); code != "forbidden" || !strings.Contains(diag, "type=") {
		t.Errorf("unrestricted search: %s %q", code, diag)
	}
	if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) {
		t.Errorf("403 without insufficient_scope challenge: %q", got)
	}
	widened := "/fhir/ExplanationOfBenefit?type=" + url.QueryEscape(pharmacy+","+claimTypeSystem+"|professional")
	outcomeCode(t, e.get("alice-pharmacy", widened), http.StatusForbidden)

	missing := e.get("alice-pharmacy", "/fhir/ExplanationOfBenefit/no-such-claim")
	for _, id := range all {
		w := e.get("alice-pharmacy", "/fhir/ExplanationOfBenefit/"+id)
		isPharmacy := slices.Contains(b.ids(t), id)
		switch {
		case isPharmacy && w.Code != http.StatusOK:
			t.Errorf("read of pharmacy claim %s: %d", id, w.Code)
		case !isPharmacy && (w.Code != http.StatusNotFound || w.Body.String() != missing.Body.String()):
			t.Errorf("read of claim %s outside the restriction: %d %s", id, w.Code, w.Body)
		}
	}
	outcomeCode(t, e.get("alice-pharmacy", "/fhir/Coverage"), http.StatusForbidden)
}

// TestRestrictionOnUnknownParameterMatchesNothing pins deny by default: a
// restriction naming a parameter the server does not evaluate admits
// nothing, even on a read.
func TestRestrictionOnUnknownParameterMatchesNothing(t *testing.T) {
	e := newTestEnv(t)
	tokens := e.h.Tokens.(fakeTokens)
	tokens["alice-odd"] = Access{Patient: e.alice.PatientID, ClientID: "app-7", Member: e.alice.Username,
		Scopes: []string{"patient/ExplanationOfBenefit.rs?category=x"}}
	for _, id := range e.searchAll("alice", "ExplanationOfBenefit") {
		if w := e.get("alice-odd", "/fhir/ExplanationOfBenefit/"+id); w.Code != http.StatusNotFound {
			t.Errorf("read %s under an unknown restriction: %d", id, w.Code)
		}
	}
	outcomeCode(t, e.get("alice-odd", "/fhir/ExplanationOfBenefit?category=x"), http.StatusBadRequest)
}
