package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
)

// demoResource is what the demo test inspects in each demo resource.
type demoResource struct {
	ResourceType string
	ID           string
	Meta         struct {
		LastUpdated string
		Profile     []string
	}
	Type    struct{ Coding []struct{ Code string } }
	SubType struct{ Coding []struct{ Code string } }
}

func loadDemo(t testing.TB) *MemorySource {
	t.Helper()
	s := NewMemorySource()
	if err := LoadDemo(s); err != nil {
		t.Fatalf("LoadDemo: %v", err)
	}
	return s
}

func TestLoadDemoIsDeterministic(t *testing.T) {
	a, b := loadDemo(t), loadDemo(t)
	if len(a.byKey) != len(b.byKey) || len(a.byKey) == 0 {
		t.Fatalf("loaded %d then %d resources", len(a.byKey), len(b.byKey))
	}
	for k, r := range a.byKey {
		if !bytes.Equal(r.raw, b.byKey[k].raw) {
			t.Fatalf("%s differs between loads", k)
		}
	}
}

// TestDemoData pins what the brief promises of the demo data: each member
// has a Patient (with a _birthDate extension), a Coverage and EOBs of all
// five CARIN BB kinds, alice at least six; every member resource has the
// versioned profile of its kind and a lastUpdated no other shares; the
// rest is the shared directory (the plan, providers, practitioners) and
// bob's subscriber. That it all meets C4BB 2.0.0 is fhir/synth's
// TestDemoIsC4BBValid.
func TestDemoData(t *testing.T) {
	s := loadDemo(t)
	kindProfile := map[string]string{
		"institutional/inpatient": catalog.ProfileEOBInpatient, "institutional/outpatient": catalog.ProfileEOBOutpatient,
		"professional/": catalog.ProfileEOBProfessional, "pharmacy/": catalog.ProfileEOBPharmacy, "oral/": catalog.ProfileEOBOral,
	}
	seen := map[string]string{}
	for _, m := range DemoMembers() {
		patient := get(t, s, "Patient", m.PatientID)
		if !bytes.Contains(patient, []byte(`"_birthDate":{"extension":[`)) {
			t.Errorf("%s: Patient has no _birthDate extension", m.Username)
		}
		checkDemo(t, patient, catalog.ProfilePatient, seen)
		covers := searchAll(t, s, "Coverage", m.PatientID)
		if len(covers) != 1 {
			t.Fatalf("%s: %d coverages, want 1", m.Username, len(covers))
		}
		checkDemo(t, covers[0], catalog.ProfileCoverage, seen)
		for _, raw := range searchAll(t, s, "RelatedPerson", m.PatientID) {
			checkDemo(t, raw, catalog.ProfileRelatedPerson, seen)
		}
		eobs := searchAll(t, s, "ExplanationOfBenefit", m.PatientID)
		kinds := map[string]bool{}
		for _, raw := range eobs {
			r := decodeDemo(t, raw)
			kind := code(r.Type.Coding) + "/" + code(r.SubType.Coding)
			kinds[kind] = true
			checkDemo(t, raw, kindProfile[kind], seen)
		}
		if len(kinds) != 5 {
			t.Errorf("%s: EOB kinds %v, want the five CARIN BB kinds", m.Username, kinds)
		}
		if m.Username == "alice" && len(eobs) < 6 {
			t.Errorf("alice has %d EOBs, want at least 6 for paging", len(eobs))
		}
	}
	shared := 0
	for _, r := range s.byKey {
		if r.typ.Kind == catalog.Shared {
			shared++
		}
	}
	if len(seen)+shared != len(s.byKey) || shared == 0 {
		t.Errorf("%d demo resources, %d in the members' compartments, %d shared", len(s.byKey), len(seen), shared)
	}
}

func TestDemoMembers(t *testing.T) {
	ms := DemoMembers()
	names := []string{}
	for _, m := range ms {
		names = append(names, m.Username)
		if m.PatientID == "" || m.DisplayName == "" {
			t.Errorf("incomplete demo member %+v", m)
		}
	}
	if !slices.Equal(names, []string{"alice", "bob"}) {
		t.Fatalf("demo members %v, want alice and bob", names)
	}
	if ms[0].PatientID == ms[1].PatientID {
		t.Fatal("alice and bob share a Patient id")
	}
}

// TestDemoFilesAreSynthetic guards against real-looking data creeping in.
func TestDemoFilesAreSynthetic(t *testing.T) {
	names, err := fs.Glob(demoFiles, "demo/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("demo files: %v %v", names, err)
	}
	for _, name := range names {
		raw, err := demoFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(raw, []byte("example")) && !bytes.Contains(raw, []byte("Synthetic")) {
			t.Errorf("%s does not say it is synthetic", name)
		}
		if !bytes.Contains(raw, []byte("synthetic")) && !strings.Contains(strings.ToLower(string(raw)), "demo") {
			t.Errorf("%s does not say it is demo data", name)
		}
	}
}

func get(t *testing.T, s *MemorySource, typ, id string) json.RawMessage {
	t.Helper()
	raw, err := s.Read(context.Background(), readQuery(typ, id))
	if err != nil {
		t.Fatalf("Read %s/%s: %v", typ, id, err)
	}
	return raw
}

func searchAll(t *testing.T, s *MemorySource, typ, patient string) []json.RawMessage {
	t.Helper()
	ct, _ := catalog.Lookup(typ)
	page, err := s.Search(context.Background(), Query{Type: ct, Constraint: access.Constraint{Patient: patient}, Count: MaxCount})
	if err != nil {
		t.Fatalf("Search %s: %v", typ, err)
	}
	return page.Entries
}

func decodeDemo(t *testing.T, raw json.RawMessage) demoResource {
	t.Helper()
	var r demoResource
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func checkDemo(t *testing.T, raw json.RawMessage, profile string, seen map[string]string) {
	t.Helper()
	r := decodeDemo(t, raw)
	key := r.ResourceType + "/" + r.ID
	if profile == "" || !slices.Equal(r.Meta.Profile, []string{profile}) {
		t.Errorf("%s: meta.profile %v, want [%s]", key, r.Meta.Profile, profile)
	}
	if _, err := time.Parse(time.RFC3339, r.Meta.LastUpdated); err != nil {
		t.Errorf("%s: meta.lastUpdated %q: %v", key, r.Meta.LastUpdated, err)
	}
	if other, dup := seen[r.Meta.LastUpdated]; dup {
		t.Errorf("%s and %s share meta.lastUpdated %s", key, other, r.Meta.LastUpdated)
	}
	seen[r.Meta.LastUpdated] = key
}

func code(cs []struct{ Code string }) string {
	if len(cs) == 0 {
		return ""
	}
	return cs[0].Code
}
