package fhir

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// newFixtureEnv is a Handler over testdata/carin: alice and bob with the
// shared reference data their claims name (the plan, a hospital, a
// practitioner), a related person each, and three claims of alice's with
// known dates, one of which names bob as its payee by a data error.
func newFixtureEnv(t *testing.T) *testEnv {
	t.Helper()
	d, err := ReadData(DirData("testdata/carin"))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	src := NewMemorySource()
	if err := src.Load(d); err != nil {
		t.Fatal(err)
	}
	return newTestEnvWith(t, src)
}

// keys returns "Type/id" of the bundle's entries of one search mode, sorted.
func (b testBundle) keys(t *testing.T, mode string) []string {
	t.Helper()
	var out []string
	for _, e := range b.Entry {
		if e.Search.Mode != mode {
			continue
		}
		var r struct{ ResourceType, ID string }
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.ResourceType+"/"+r.ID)
	}
	slices.Sort(out)
	return out
}

// TestCARINSearches runs each search parameter the CARIN Blue Button IG
// requires with values that must select an exact set of alice's records:
// results, not only status. Dates follow FHIR's range semantics: a value
// of lower precision is a range, a Period is compared as one, and an open
// Period end runs on for ever.
func TestCARINSearches(t *testing.T) {
	e := newFixtureEnv(t)
	const (
		inp   = "ExplanationOfBenefit/fx-eob-inpatient"
		prof  = "ExplanationOfBenefit/fx-eob-professional"
		pharm = "ExplanationOfBenefit/fx-eob-pharmacy"
	)
	tests := []struct {
		query string
		want  []string
	}{
		{"ExplanationOfBenefit?_id=fx-eob-professional", []string{prof}},
		{"ExplanationOfBenefit?_id=fx-eob-professional,fx-eob-pharmacy", []string{pharm, prof}},
		{"ExplanationOfBenefit?_id=fx-eob-bob", nil},
		{"ExplanationOfBenefit?patient=alice-1001", []string{inp, pharm, prof}},
		{"ExplanationOfBenefit?patient=Patient/alice-1001", []string{inp, pharm, prof}},
		{"ExplanationOfBenefit?patient=bob-2002", nil},
		{"ExplanationOfBenefit?_lastUpdated=ge2024", []string{pharm}},
		{"ExplanationOfBenefit?_lastUpdated=lt2023-07-01", []string{inp}},
		{"ExplanationOfBenefit?_lastUpdated=2023-07-01", []string{prof}},
		{"ExplanationOfBenefit?_lastUpdated=ne2023-07-01", []string{inp, pharm}},
		{"ExplanationOfBenefit?type=pharmacy", []string{pharm}},
		{"ExplanationOfBenefit?type=http://terminology.hl7.org/CodeSystem/claim-type|institutional", []string{inp}},
		{"ExplanationOfBenefit?type=professional,pharmacy", []string{pharm, prof}},
		{"ExplanationOfBenefit?type=http://other.example|pharmacy", nil},
		{"ExplanationOfBenefit?identifier=FX-RX-1", []string{pharm}},
		{"ExplanationOfBenefit?identifier=https://fixture.example/claim-id|FX-RX-1", []string{pharm}},
		{"ExplanationOfBenefit?identifier=https://other.example|FX-RX-1", nil},
		// service-date: billablePeriod, item.servicedDate, item.servicedPeriod
		{"ExplanationOfBenefit?service-date=2023-01", []string{inp}},
		{"ExplanationOfBenefit?service-date=2023-01-11", nil}, // a day inside the stay does not contain it
		{"ExplanationOfBenefit?service-date=ap2023-01-11", []string{inp}},
		{"ExplanationOfBenefit?service-date=2023-06-05", []string{prof}},
		{"ExplanationOfBenefit?service-date=ge2024-01-01", []string{pharm}}, // open billing period
		{"ExplanationOfBenefit?service-date=sa2023-12-31", []string{pharm}},
		{"ExplanationOfBenefit?service-date=eb2023-06-05", []string{inp}},
		{"ExplanationOfBenefit?service-date=ne2023-06-05", []string{inp, pharm}},
		{"ExplanationOfBenefit?service-date=lt2023-01-11", []string{inp}},
		{"ExplanationOfBenefit?service-date=gt2023-01-14", []string{inp, pharm, prof}},
		{"ExplanationOfBenefit?service-date=le2022", nil},
		{"ExplanationOfBenefit?service-date=2023-06-05&type=institutional", nil},
		{"ExplanationOfBenefit?service-date=2023-06-05,2024-02-24", []string{pharm, prof}},
		// service-start-date: billablePeriod.start, item.servicedDate, item.servicedPeriod.start
		{"ExplanationOfBenefit?service-start-date=2024-02-24", []string{pharm}},
		{"ExplanationOfBenefit?service-start-date=2023-01-10", []string{inp}},
		{"ExplanationOfBenefit?service-start-date=lt2023-01-11", []string{inp}},
		{"ExplanationOfBenefit?service-start-date=gt2023-01-10T00:00:00Z", []string{inp, pharm, prof}},
		// billable-period-start: billablePeriod.start only
		{"ExplanationOfBenefit?billable-period-start=2024-02-24", nil},
		{"ExplanationOfBenefit?billable-period-start=2024-02", []string{pharm}},
		{"ExplanationOfBenefit?billable-period-start=gt2023-06-04", []string{pharm, prof}},
		{"ExplanationOfBenefit?billable-period-start=le2023-06-05", []string{inp, prof}},
		{"ExplanationOfBenefit?billable-period-start=eb2023-06-05", []string{inp}},
		{"Coverage?_id=fx-cov-alice", []string{"Coverage/fx-cov-alice"}},
		{"Coverage?patient=alice-1001", []string{"Coverage/fx-cov-alice"}},
		{"Coverage?_id=fx-cov-bob", nil},
		{"Patient?_id=alice-1001", []string{"Patient/alice-1001"}},
		{"Patient?_id=bob-2002", nil},
		{"Organization?_id=fx-org-payer", []string{"Organization/fx-org-payer"}},
		{"Organization?_id=fx-org-payer,fx-org-hospital", []string{"Organization/fx-org-hospital", "Organization/fx-org-payer"}},
		{"Practitioner?_id=fx-prac-1", []string{"Practitioner/fx-prac-1"}},
		{"RelatedPerson?_id=fx-rp-alice", []string{"RelatedPerson/fx-rp-alice"}},
		{"RelatedPerson?patient=alice-1001", []string{"RelatedPerson/fx-rp-alice"}},
		{"RelatedPerson?_id=fx-rp-bob", nil}, // bob's: in his compartment, not alice's
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			b := decodeBundle(t, e.get("alice-all", "/fhir/"+escapeQuery(tt.query)))
			if got := b.keys(t, "match"); !slices.Equal(got, tt.want) {
				t.Errorf("matches %v, want %v", got, tt.want)
			}
			if b.Total != len(tt.want) {
				t.Errorf("total %d, want %d", b.Total, len(tt.want))
			}
		})
	}
}

// escapeQuery escapes the values of "Type?k=v&k=v" as a client would.
func escapeQuery(q string) string {
	path, raw, ok := strings.Cut(q, "?")
	if !ok {
		return q
	}
	v := url.Values{}
	for kv := range strings.SplitSeq(raw, "&") {
		k, val, _ := strings.Cut(kv, "=")
		v.Add(k, val)
	}
	return path + "?" + v.Encode()
}

// TestCARINReads: the shared reference types are readable by any member
// token with the scope; a related person is member data, readable only in
// its own member's compartment (404 otherwise, as for a missing one).
func TestCARINReads(t *testing.T) {
	e := newFixtureEnv(t)
	for path, want := range map[string]int{
		"Organization/fx-org-payer":    http.StatusOK,
		"Organization/fx-org-hospital": http.StatusOK,
		"Practitioner/fx-prac-1":       http.StatusOK,
		"RelatedPerson/fx-rp-alice":    http.StatusOK,
		"RelatedPerson/fx-rp-bob":      http.StatusNotFound,
		"Organization/none":            http.StatusNotFound,
	} {
		if w := e.get("alice-all", "/fhir/"+path); w.Code != want {
			t.Errorf("read %s: %d, want %d: %s", path, w.Code, want, w.Body)
		}
	}
	if w := e.get("bob", "/fhir/RelatedPerson/fx-rp-bob"); w.Code != http.StatusForbidden {
		t.Errorf("read without a RelatedPerson scope: %d, want 403", w.Code)
	}
}

// TestCARINIncludes runs every _include with its results: the included
// resources (search.mode include), each once, shared reference data and
// the member's own records only — never another member's, even when the
// member's own claim references it.
func TestCARINIncludes(t *testing.T) {
	e := newFixtureEnv(t)
	tests := []struct {
		query    string
		matches  []string
		included []string
	}{
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:patient",
			[]string{"ExplanationOfBenefit/fx-eob-inpatient"}, []string{"Patient/alice-1001"}},
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:provider",
			[]string{"ExplanationOfBenefit/fx-eob-inpatient"}, []string{"Organization/fx-org-hospital"}},
		{"ExplanationOfBenefit?_id=fx-eob-professional&_include=ExplanationOfBenefit:provider:Practitioner",
			[]string{"ExplanationOfBenefit/fx-eob-professional"}, []string{"Practitioner/fx-prac-1"}},
		{"ExplanationOfBenefit?_id=fx-eob-professional&_include=ExplanationOfBenefit:provider:Organization",
			[]string{"ExplanationOfBenefit/fx-eob-professional"}, nil},
		{"ExplanationOfBenefit?_id=fx-eob-professional&_include=ExplanationOfBenefit:care-team",
			[]string{"ExplanationOfBenefit/fx-eob-professional"}, []string{"Organization/fx-org-hospital", "Practitioner/fx-prac-1"}},
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:coverage",
			[]string{"ExplanationOfBenefit/fx-eob-inpatient"}, []string{"Coverage/fx-cov-alice"}},
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:insurer",
			[]string{"ExplanationOfBenefit/fx-eob-inpatient"}, []string{"Organization/fx-org-payer"}},
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:payee",
			[]string{"ExplanationOfBenefit/fx-eob-inpatient"}, []string{"RelatedPerson/fx-rp-alice"}},
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:*",
			[]string{"ExplanationOfBenefit/fx-eob-inpatient"}, []string{"Coverage/fx-cov-alice", "Organization/fx-org-hospital",
				"Organization/fx-org-payer", "Patient/alice-1001", "Practitioner/fx-prac-1", "RelatedPerson/fx-rp-alice"}},
		// alice's pharmacy claim names bob as payee: bob is never included
		{"ExplanationOfBenefit?_id=fx-eob-pharmacy&_include=ExplanationOfBenefit:payee",
			[]string{"ExplanationOfBenefit/fx-eob-pharmacy"}, nil},
		{"ExplanationOfBenefit?_id=fx-eob-pharmacy&_include=ExplanationOfBenefit:*",
			[]string{"ExplanationOfBenefit/fx-eob-pharmacy"}, []string{"Coverage/fx-cov-alice", "Organization/fx-org-hospital",
				"Organization/fx-org-payer", "Patient/alice-1001"}},
		// includes of several matches name each target once
		{"ExplanationOfBenefit?patient=alice-1001&_include=ExplanationOfBenefit:insurer&_include=ExplanationOfBenefit:provider",
			[]string{"ExplanationOfBenefit/fx-eob-inpatient", "ExplanationOfBenefit/fx-eob-pharmacy", "ExplanationOfBenefit/fx-eob-professional"},
			[]string{"Organization/fx-org-hospital", "Organization/fx-org-payer", "Practitioner/fx-prac-1"}},
		{"Coverage?_id=fx-cov-alice&_include=Coverage:payor",
			[]string{"Coverage/fx-cov-alice"}, []string{"Organization/fx-org-payer"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			b := decodeBundle(t, e.get("alice-all", "/fhir/"+escapeQuery(tt.query)))
			if got := b.keys(t, "match"); !slices.Equal(got, tt.matches) {
				t.Errorf("matches %v, want %v", got, tt.matches)
			}
			if got := b.keys(t, "include"); !slices.Equal(got, tt.included) {
				t.Errorf("included %v, want %v", got, tt.included)
			}
			for _, e := range b.Entry {
				if e.Search.Mode != "match" && e.Search.Mode != "include" {
					t.Errorf("entry %s has search.mode %q", e.FullURL, e.Search.Mode)
				}
			}
		})
	}
	// bob's own search of the same shape includes his related person
	b := decodeBundle(t, e.get("bob", "/fhir/ExplanationOfBenefit?_include=ExplanationOfBenefit:payee"))
	if got := b.keys(t, "include"); len(got) != 0 {
		t.Errorf("bob's token without a RelatedPerson scope got %v included", got)
	}
}
