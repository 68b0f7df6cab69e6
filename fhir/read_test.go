package fhir

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// A compact Patient with a primitive extension on birthDate, which
// golang-fhir-models would drop if the bytes went through its structs.
const extPatient = `{"resourceType":"Patient","id":"p-ext","meta":{"versionId":"3","lastUpdated":"2024-05-06T07:08:09Z","profile":["` +
	catalog.ProfilePatient + `"]},"name":[{"family":"Test-Member","given":["Ext"]}],"birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1970-01-01T06:00:00Z"}]}}`

func TestBytesPreserved(t *testing.T) {
	src := NewMemorySource()
	if err := src.Add([]byte(extPatient)); err != nil {
		t.Fatalf("Add: %v", err)
	}
	e := newTestEnvWith(t, src)
	e.mux = http.NewServeMux()
	h := &Handler{BaseURL: testBase, Source: src, Tokens: fakeTokens{"ext": {Patient: "p-ext", Scopes: allRead}}}
	h.Mount(e.mux)
	w := e.get("ext", "/fhir/Patient/p-ext")
	if w.Code != http.StatusOK || w.Body.String() != extPatient {
		t.Fatalf("read changed the bytes (%d):\n%s\nwant\n%s", w.Code, w.Body, extPatient)
	}
	hdr := w.Header()
	if hdr.Get("ETag") != `W/"3"` || hdr.Get("Last-Modified") != "Mon, 06 May 2024 07:08:09 GMT" ||
		hdr.Get("Content-Type") != "application/fhir+json" || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", hdr)
	}
	b := decodeBundle(t, e.get("ext", "/fhir/Patient"))
	if len(b.Entry) != 1 || !bytes.Equal(b.Entry[0].Resource, []byte(extPatient)) {
		t.Fatalf("search changed the bytes: %s", w.Body)
	}
}

func TestDemoBirthDateExtensionServed(t *testing.T) {
	e := newTestEnv(t)
	for _, tok := range []string{"alice", "bob"} {
		m := map[string]DemoMember{"alice": e.alice, "bob": e.bob}[tok]
		w := e.get(tok, "/fhir/Patient/"+m.PatientID)
		var p struct {
			BirthDate json.RawMessage `json:"_birthDate"`
		}
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &p) != nil || !strings.Contains(string(p.BirthDate), "extension") {
			t.Fatalf("%s: _birthDate extension missing (%d): %s", tok, w.Code, w.Body)
		}
	}
}

func TestAuditEvents(t *testing.T) {
	e := newTestEnv(t)
	e.get("alice", "/fhir/Patient/"+e.alice.PatientID)
	e.get("alice", "/fhir/ExplanationOfBenefit?_count=2")
	e.get("alice", "/fhir/Patient/"+e.bob.PatientID)
	e.get("alice", "/fhir/Coverage?_count=0")
	ev := e.audit.take()
	want := []Event{
		{Action: "fhir.read", Outcome: "success", Count: 1, ResourceTypes: []string{"Patient"}},
		{Action: "fhir.search", Outcome: "success", Count: 2, ResourceTypes: []string{"ExplanationOfBenefit"}},
		{Action: "fhir.read", Outcome: "denied", Count: 0, ResourceTypes: []string{"Patient"}},
		{Action: "fhir.search", Outcome: "invalid", Count: 0, ResourceTypes: []string{"Coverage"}},
	}
	if len(ev) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(ev), len(want), ev)
	}
	for i, w := range want {
		g := ev[i]
		if g.Action != w.Action || g.Outcome != w.Outcome || g.Count != w.Count || len(g.ResourceTypes) != 1 ||
			g.ResourceTypes[0] != w.ResourceTypes[0] || g.Patient != e.alice.PatientID || g.ClientID != "app-1" ||
			g.Member != e.alice.Username {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
		if strings.Contains(g.Reason, e.bob.PatientID) || strings.Contains(g.Reason, "Demo") {
			t.Errorf("event %d reason carries ids or content: %q", i, g.Reason)
		}
	}
	e.get("alice", "/fhir/Nope?x=1")
	if ev := e.audit.take(); len(ev) != 1 || len(ev[0].ResourceTypes) != 0 {
		t.Fatalf("unsupported type must be audited without echoing it: %+v", ev)
	}
}

func TestNilAuditAndLogger(t *testing.T) {
	src := NewMemorySource()
	if err := LoadDemo(src); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&Handler{BaseURL: testBase, Source: src, Tokens: fakeTokens{}}).Mount(mux)
	if w := serve(mux, newRequest(http.MethodGet, "/fhir/Patient", "Bearer boom")); w.Code != 500 {
		t.Fatalf("status %d", w.Code)
	}
}
