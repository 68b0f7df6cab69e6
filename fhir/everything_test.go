package fhir

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// everythingAll follows every page of an $everything answer and returns
// the keys of its matches and of its included resources, and the pages.
func (e *testEnv) everythingAll(t *testing.T, token, target string) (matches, included []string, pages int) {
	t.Helper()
	for target != "" {
		b := decodeBundle(t, e.get(token, target))
		matches = append(matches, b.keys(t, "match")...)
		included = append(included, b.keys(t, "include")...)
		pages++
		if pages > 50 {
			t.Fatal("more than 50 pages")
		}
		target = b.link("next")
	}
	slices.Sort(matches)
	return matches, included, pages
}

// TestEverything: Patient/{id}/$everything gives the member's whole
// compartment the scopes grant, with the shared reference data it names,
// and nothing of another member's, on one page or on many.
func TestEverything(t *testing.T) {
	e := newFixtureEnv(t)
	wantMatches := []string{"Coverage/fx-cov-alice", "ExplanationOfBenefit/fx-eob-inpatient", "ExplanationOfBenefit/fx-eob-pharmacy",
		"ExplanationOfBenefit/fx-eob-professional", "Patient/alice-1001", "RelatedPerson/fx-rp-alice"}
	wantIncluded := []string{"Organization/fx-org-hospital", "Organization/fx-org-payer", "Practitioner/fx-prac-1"}

	w := e.get("alice-all", "/fhir/Patient/alice-1001/$everything?_count=100")
	b := decodeBundle(t, w)
	if got := b.keys(t, "match"); !slices.Equal(got, wantMatches) {
		t.Errorf("matches %v, want %v", got, wantMatches)
	}
	if got := b.keys(t, "include"); !slices.Equal(got, wantIncluded) {
		t.Errorf("included %v, want %v", got, wantIncluded)
	}
	if strings.Contains(w.Body.String(), "fx-eob-bob") || strings.Contains(w.Body.String(), "fx-rp-bob") ||
		strings.Contains(w.Body.String(), `"id":"bob-2002"`) {
		t.Errorf("bob's data in alice's $everything: %s", w.Body)
	}
	if b.link("next") != "" || b.link("self") != testBase+"/Patient/alice-1001/$everything?_count=100" {
		t.Errorf("links %+v", b.Link)
	}
	ev := e.audit.take()
	if len(ev) != 1 || ev[0].Action != "fhir.everything" || ev[0].Outcome != "success" || ev[0].Count != 9 ||
		ev[0].Patient != "alice-1001" {
		t.Errorf("audit %+v", ev)
	}

	matches, included, pages := e.everythingAll(t, "alice-all", "/fhir/Patient/alice-1001/$everything?_count=2")
	if !slices.Equal(matches, wantMatches) || pages != 3 {
		t.Errorf("paged by 2: %d pages, matches %v", pages, matches)
	}
	slices.Sort(included)
	if included = slices.Compact(included); !slices.Equal(included, wantIncluded) {
		t.Errorf("paged by 2: included %v", included)
	}
	if ev := e.audit.take(); len(ev) != 3 || ev[2].Action != "fhir.everything" {
		t.Errorf("paged audit: %+v", ev)
	}
}

// TestEverythingGrantedTypesOnly: types the scopes do not grant are left
// out, shared ones included only when granted.
func TestEverythingGrantedTypesOnly(t *testing.T) {
	e := newFixtureEnv(t)
	b := decodeBundle(t, e.get("alice", "/fhir/Patient/alice-1001/$everything?_count=100"))
	want := []string{"Coverage/fx-cov-alice", "ExplanationOfBenefit/fx-eob-inpatient", "ExplanationOfBenefit/fx-eob-pharmacy",
		"ExplanationOfBenefit/fx-eob-professional", "Patient/alice-1001"}
	if got := b.keys(t, "match"); !slices.Equal(got, want) {
		t.Errorf("matches %v, want %v", got, want)
	}
	if got := b.keys(t, "include"); len(got) != 0 {
		t.Errorf("included %v without an Organization or Practitioner scope", got)
	}
	tokens := e.h.Tokens.(fakeTokens)
	tokens["alice-orgs"] = Access{Patient: "alice-1001", Scopes: []string{"patient/Organization.rs"}, ClientID: "app-9"}
	if code, _ := outcomeCode(t, e.get("alice-orgs", "/fhir/Patient/alice-1001/$everything"), http.StatusForbidden); code != "forbidden" {
		t.Errorf("no member-data scope: %s", code)
	}
}

// TestEverythingRefusals: another patient looks missing; bad parameters
// and cursors are 400; no token is 401.
func TestEverythingRefusals(t *testing.T) {
	e := newFixtureEnv(t)
	missing := e.get("alice-all", "/fhir/Patient/no-such/$everything")
	other := e.get("alice-all", "/fhir/Patient/bob-2002/$everything")
	if other.Code != http.StatusNotFound || other.Body.String() != missing.Body.String() {
		t.Errorf("bob's $everything for alice: %d %s, want the missing answer %s", other.Code, other.Body, missing.Body)
	}
	for _, q := range []string{"_count=0", "_count=x", "_since=2020", "_page=abc.def", "_count=1&_count=2", "_type=Patient"} {
		if w := e.get("alice-all", "/fhir/Patient/alice-1001/$everything?"+q); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, w.Code)
		}
	}
	// a cursor from another member's paging is refused
	b := decodeBundle(t, e.get("bob", "/fhir/Patient/bob-2002/$everything?_count=1"))
	if next := b.link("next"); next == "" {
		t.Fatal("bob's $everything has no next page")
	} else if w := e.get("alice-all", strings.Replace(next, "bob-2002", "alice-1001", 1)); w.Code != http.StatusBadRequest {
		t.Errorf("bob's cursor used by alice: %d", w.Code)
	}
	if w := e.get("", "/fhir/Patient/alice-1001/$everything"); w.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", w.Code)
	}
}

// TestEverythingWithholdsSensitive: records the member did not choose to
// share are left out of $everything too.
func TestEverythingWithholdsSensitive(t *testing.T) {
	e := newTestEnv(t)
	withSensitive(e)
	kept, _, _ := e.everythingAll(t, "alice-all", "/fhir/Patient/alice-1001/$everything")
	all, _, _ := e.everythingAll(t, "alice-opted-in", "/fhir/Patient/alice-1001/$everything")
	if slices.Contains(kept, "ExplanationOfBenefit/"+sensitiveEOB) || !slices.Contains(all, "ExplanationOfBenefit/"+sensitiveEOB) ||
		len(all) != len(kept)+1 {
		t.Errorf("without opt-in %v; with %v", kept, all)
	}
}

// FuzzParseEverything: any query string either parses to a page size in
// range or is refused with a paramError; it never panics.
func FuzzParseEverything(f *testing.F) {
	for _, s := range []string{"_count=5", "_count=0", "_page=a.b&_count=100", "_format=json", "_since=2020", "_count=1&_count=2", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		count, _, err := parseEverything(v)
		var pe *paramError
		switch {
		case err != nil && !errors.As(err, &pe):
			t.Fatalf("parseEverything(%q): %v is not a paramError", raw, err)
		case err == nil && (count < 1 || count > MaxCount):
			t.Fatalf("parseEverything(%q) = count %d", raw, count)
		}
	})
}
