package fhir

import (
	"net/http"
	"testing"
)

// BenchmarkRead measures one read: fake token check, scope decision,
// source read, compartment check and response.
func BenchmarkRead(b *testing.B) {
	e := newTestEnv(b)
	r := newRequest(http.MethodGet, "/fhir/Patient/"+DemoMembers()[0].PatientID, "Bearer alice")
	b.ReportAllocs()
	for b.Loop() {
		if w := serve(e.mux, r); w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkSearch measures a first page of alice's claims with a date
// filter: parsing, the source search, the compartment check of every entry
// and the Bundle.
func BenchmarkSearch(b *testing.B) {
	e := newTestEnv(b)
	r := newRequest(http.MethodGet, "/fhir/ExplanationOfBenefit?_count=5&_lastUpdated=ge2020", "Bearer alice")
	b.ReportAllocs()
	for b.Loop() {
		if w := serve(e.mux, r); w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
