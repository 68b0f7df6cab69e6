package fhir

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestNoCrossPatientAccess pins that alice's token never reaches one byte
// of bob's data, on every route.
func TestNoCrossPatientAccess(t *testing.T) {
	e := newTestEnv(t)
	missing := e.get("alice", "/fhir/ExplanationOfBenefit/no-such-eob")
	for _, typ := range ResourceTypes {
		bobIDs := e.searchAll("bob", typ)
		if len(bobIDs) == 0 {
			t.Fatalf("bob has no %s", typ)
		}
		for _, id := range bobIDs {
			w := e.get("alice", "/fhir/"+typ+"/"+id)
			if w.Code != http.StatusNotFound || !bytes.Equal(w.Body.Bytes(), missing.Body.Bytes()) {
				t.Errorf("alice reading bob's %s/%s: %d %s (missing gives %s)", typ, id, w.Code, w.Body, missing.Body)
			}
		}
		queries := []string{"_id=" + strings.Join(bobIDs, ",")}
		if typ != "Patient" {
			queries = append(queries, "patient="+e.bob.PatientID, "patient=Patient/"+e.bob.PatientID)
		}
		for _, q := range queries {
			b := decodeBundle(t, e.get("alice", "/fhir/"+typ+"?"+q))
			if b.Total != 0 || len(b.Entry) != 0 {
				t.Errorf("alice searching %s?%s found %d", typ, q, b.Total)
			}
			form, _ := url.ParseQuery(q)
			b = decodeBundle(t, e.postForm("alice", "/fhir/"+typ+"/_search", form))
			if b.Total != 0 || len(b.Entry) != 0 {
				t.Errorf("alice POST-searching %s %s found %d", typ, q, b.Total)
			}
		}
	}
	assertNoBobBytes(t, e)
}

// assertNoBobBytes follows bob's paging links with alice's token, and with
// a tampered patient parameter: only alice's resources come back.
func assertNoBobBytes(t *testing.T, e *testEnv) {
	aliceEOBs := e.searchAll("alice", "ExplanationOfBenefit")
	next := decodeBundle(t, e.get("bob", "/fhir/ExplanationOfBenefit?_count=1")).link("next")
	if next == "" {
		t.Fatal("bob's first page has no next link")
	}
	tampered := []string{next, next + "&patient=" + e.bob.PatientID,
		strings.Replace(next, "_offset=1", "_offset=0", 1)}
	for _, link := range tampered {
		b := decodeBundle(t, e.get("alice", link))
		for _, id := range b.ids(t) {
			if !slices.Contains(aliceEOBs, id) {
				t.Errorf("link %s with alice's token returned %s", link, id)
			}
		}
		if strings.Contains(link, "patient=") && b.Total != 0 {
			t.Errorf("link %s with alice's token matched %d", link, b.Total)
		}
	}
}

// TestOwnDataOnly pins that each member's searches return only resources
// in their compartment, and that the patient parameter naming oneself works
// in both forms.
func TestOwnDataOnly(t *testing.T) {
	e := newTestEnv(t)
	for _, m := range []DemoMember{e.alice, e.bob} {
		token := map[string]string{e.alice.Username: "alice", e.bob.Username: "bob"}[m.Username]
		for _, typ := range ResourceTypes {
			b := decodeBundle(t, e.get(token, "/fhir/"+typ+"?_count=100"))
			for _, entry := range b.Entry {
				if !inCompartment(typ, entry.Resource, m.PatientID) {
					t.Errorf("%s's %s search returned %s", token, typ, entry.FullURL)
				}
			}
			if typ == "Patient" && b.Total != 1 {
				t.Errorf("%s sees %d Patients", token, b.Total)
			}
			if typ == "Patient" {
				continue
			}
			for _, p := range []string{m.PatientID, "Patient/" + m.PatientID} {
				if got := decodeBundle(t, e.get(token, "/fhir/"+typ+"?_count=100&patient="+p)); got.Total != b.Total {
					t.Errorf("%s patient=%s: %d, want %d", typ, p, got.Total, b.Total)
				}
			}
		}
	}
	if n := len(e.searchAll("alice", "ExplanationOfBenefit")); n < 6 {
		t.Errorf("alice has %d EOBs, want at least 6", n)
	}
	if n := len(e.searchAll("bob", "ExplanationOfBenefit")); n != 4 {
		t.Errorf("bob has %d EOBs, want 4", n)
	}
}

func TestSourceLeakFailsClosed(t *testing.T) {
	demo := NewMemorySource()
	if err := LoadDemo(demo); err != nil {
		t.Fatal(err)
	}
	bob := DemoMembers()[1]
	e := newTestEnvWith(t, leaky{demo, bob.PatientID})
	if w := e.get("alice", "/fhir/Patient/"+bob.PatientID); w.Code != http.StatusNotFound {
		t.Fatalf("read: %d", w.Code)
	}
	code, diag := outcomeCode(t, e.get("alice", "/fhir/Patient"), http.StatusInternalServerError)
	if code != "exception" || diag != "" {
		t.Fatalf("search: %s %q", code, diag)
	}
	ev := e.audit.take()
	if len(ev) != 2 || ev[0].Outcome != "denied" || ev[1].Outcome != "error" {
		t.Fatalf("audit %+v", ev)
	}
}
