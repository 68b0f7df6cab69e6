package fhir

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/oauth/smart"
)

// TestNoCrossPatientAccess pins that alice's token never reaches one byte
// of bob's data, on every route.
func TestNoCrossPatientAccess(t *testing.T) {
	e := newTestEnv(t)
	missing := e.get("alice", "/fhir/ExplanationOfBenefit/no-such-eob")
	for _, typ := range demoTypes {
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

// assertNoBobBytes follows bob's paging links with alice's token, as they
// are and tampered: each is refused, since a cursor is bound to the member
// and the search it continues.
func assertNoBobBytes(t *testing.T, e *testEnv) {
	next := decodeBundle(t, e.get("bob", "/fhir/ExplanationOfBenefit?_count=1")).link("next")
	if next == "" {
		t.Fatal("bob's first page has no next link")
	}
	for _, link := range []string{next, next + "&patient=" + e.bob.PatientID, strings.Replace(next, "_count=1", "_count=2", 1)} {
		w := e.get("alice", link)
		if code, _ := outcomeCode(t, w, http.StatusBadRequest); code != "invalid" || strings.Contains(w.Body.String(), e.bob.PatientID) {
			t.Errorf("link %s with alice's token: %s", link, w.Body)
		}
	}
	if w := e.get("bob", strings.Replace(next, "_count=1", "_count=2", 1)); w.Code != http.StatusBadRequest {
		t.Errorf("bob's own link with another _count: %d, want 400", w.Code)
	}
	if b := decodeBundle(t, e.get("bob", next)); len(b.Entry) != 1 {
		t.Errorf("bob's own next link: %d entries", len(b.Entry))
	}
}

// TestOwnDataOnly pins that each member's searches return only resources
// in their compartment, and that the patient parameter naming oneself works
// in both forms.
func TestOwnDataOnly(t *testing.T) {
	e := newTestEnv(t)
	for _, m := range []DemoMember{e.alice, e.bob} {
		token := map[string]string{e.alice.Username: "alice", e.bob.Username: "bob"}[m.Username]
		for _, typ := range demoTypes {
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
	if n := len(e.searchAll("bob", "ExplanationOfBenefit")); n != 5 {
		t.Errorf("bob has %d EOBs, want 5 (one of each C4BB kind)", n)
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
	w := e.get("alice", "/fhir/Patient")
	code, _ := outcomeCode(t, w, http.StatusBadGateway)
	if code != "exception" || strings.Contains(w.Body.String(), bob.PatientID) {
		t.Fatalf("search: %s %s", code, w.Body)
	}
	ev := e.audit.take()
	if len(ev) != 2 || ev[0].Outcome != "denied" || ev[1].Outcome != "error" {
		t.Fatalf("audit %+v", ev)
	}
}

func TestInCompartment(t *testing.T) {
	tests := []struct {
		name, typ, raw, patient string
		want                    bool
	}{
		{"patient own", "Patient", `{"resourceType":"Patient","id":"p1"}`, "p1", true},
		{"patient other", "Patient", `{"resourceType":"Patient","id":"p2"}`, "p1", false},
		{"patient empty id", "Patient", `{"resourceType":"Patient","id":""}`, "", false},
		{"declared type differs", "Patient", `{"resourceType":"Coverage","id":"p1","beneficiary":{"reference":"Patient/p1"}}`, "p1", false},
		{"coverage own", "Coverage", `{"resourceType":"Coverage","beneficiary":{"reference":"Patient/p1"}}`, "p1", true},
		{"coverage other", "Coverage", `{"resourceType":"Coverage","beneficiary":{"reference":"Patient/p2"}}`, "p1", false},
		{"coverage absolute ref", "Coverage", `{"resourceType":"Coverage","beneficiary":{"reference":"http://x/Patient/p1"}}`, "p1", false},
		{"coverage versioned ref", "Coverage", `{"resourceType":"Coverage","beneficiary":{"reference":"Patient/p1/_history/1"}}`, "p1", false},
		{"coverage patient field ignored", "Coverage", `{"resourceType":"Coverage","patient":{"reference":"Patient/p1"}}`, "p1", false},
		{"eob own", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","patient":{"reference":"Patient/p1"}}`, "p1", true},
		{"eob other", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","patient":{"reference":"Patient/p2"}}`, "p1", false},
		{"eob beneficiary ignored", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","beneficiary":{"reference":"Patient/p1"}}`, "p1", false},
		{"eob group reference", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","patient":{"reference":"Group/p1"}}`, "p1", false},
		{"other type", "Observation", `{"resourceType":"Observation","subject":{"reference":"Patient/p1"},"patient":{"reference":"Patient/p1"}}`, "p1", false},
		{"malformed", "Patient", `{"resourceType":"Patient","id":"p1"`, "p1", false},
		{"reference not a string", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","patient":{"reference":1}}`, "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inCompartment(tt.typ, []byte(tt.raw), tt.patient); got != tt.want {
				t.Fatalf("inCompartment = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzInCompartment pins that the compartment check never panics, accepts
// member data only for a valid patient id, and never accepts one resource
// for two different patients.
func FuzzInCompartment(f *testing.F) {
	f.Add("Patient", `{"resourceType":"Patient","id":"p1"}`, "p1", "p2")
	f.Add("Coverage", `{"resourceType":"Coverage","beneficiary":{"reference":"Patient/p1"}}`, "p1", "P1")
	f.Add("ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","patient":{"reference":"Patient/p1"},"patient":{"reference":"Patient/p2"}}`, "p2", "p1")
	f.Add("ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","PATIENT":{"reference":"Patient/x"}}`, "x", "")
	f.Fuzz(func(t *testing.T, typ, raw, p, q string) {
		in := inCompartment(typ, []byte(raw), p)
		ct, known := catalog.Lookup(typ)
		if in && (!known || ct.Kind != catalog.MemberData || !catalog.ValidID(p)) {
			t.Fatalf("accepted %q for patient %q", typ, p)
		}
		if in && p != q && inCompartment(typ, []byte(raw), q) {
			t.Fatalf("resource accepted for both %q and %q", p, q)
		}
	})
}

// demoTypes are the member-data types the demo data has for each member.
var demoTypes = []string{"Patient", "Coverage", "ExplanationOfBenefit"}

// inCompartment reports whether raw, returned for a request on typ, passes
// the constraint of a token of patient that may read every member-data type.
func inCompartment(typ string, raw []byte, patient string) bool {
	f, err := catalog.Inspect(raw)
	if err != nil || f.Type != typ {
		return false
	}
	if t, ok := catalog.Lookup(typ); !ok || t.Kind != catalog.MemberData {
		return false
	}
	c := access.Constraint{Patient: patient, Scopes: []string{"patient/*.rs"}, Served: servedAll(), Interaction: smart.Read}
	return c.Check(f, nil) == nil
}

func servedAll() access.Types {
	ts := access.Types{}
	for _, t := range catalog.All() {
		ts[t.Name] = t
	}
	return ts
}
