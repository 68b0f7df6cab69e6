package catalog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/fhir/internal/jscan"
)

// inspectJSON is Inspect as it was written with encoding/json, decoding
// the whole resource into the facts' fields: the reference Inspect is
// compared with.
func inspectJSON(raw []byte) (Facts, error) {
	var f struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Patient      struct {
			Reference string `json:"reference"`
		} `json:"patient"`
		Beneficiary struct {
			Reference string `json:"reference"`
		} `json:"beneficiary"`
		Subject struct {
			Reference string `json:"reference"`
		} `json:"subject"`
		Meta struct {
			VersionID   string   `json:"versionId"`
			LastUpdated string   `json:"lastUpdated"`
			Security    []Coding `json:"security"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return Facts{}, err
	}
	facts := Facts{Type: f.ResourceType, ID: f.ID, VersionID: f.Meta.VersionID, LastUpdated: f.Meta.LastUpdated, Security: f.Meta.Security}
	t, ok := Lookup(f.ResourceType)
	if !ok || t.Kind != MemberData {
		return facts, nil
	}
	switch t.Owner.Element {
	case "id":
		if ValidID(f.ID) {
			facts.Patient = f.ID
		}
	case "patient":
		facts.Patient = PatientRef(f.Patient.Reference)
	case "beneficiary":
		facts.Patient = PatientRef(f.Beneficiary.Reference)
	case "subject":
		facts.Patient = PatientRef(f.Subject.Reference)
	}
	return facts, nil
}

// factNames are the member names Inspect reads, at any level.
var factNames = []string{"resourceType", "id", "patient", "beneficiary", "subject", "meta", "reference", "versionId", "lastUpdated", "security", "system", "code"}

// foldsOntoAFact reports whether raw has a member whose name is one of
// factNames in other case, which encoding/json would read and Inspect,
// like FHIR, does not.
func foldsOntoAFact(raw []byte) bool {
	s := jscan.New(raw)
	var walk func() bool
	walk = func() bool {
		switch s.Peek() {
		case '{':
			_ = s.Object()
			for i := 0; ; i++ {
				k, more, err := s.Member(i)
				if err != nil || !more {
					return false
				}
				for _, n := range factNames {
					if string(k) != n && strings.EqualFold(string(k), n) {
						return true
					}
				}
				if walk() {
					return true
				}
			}
		case '[':
			_ = s.Array()
			for i := 0; ; i++ {
				if more, err := s.Element(i); err != nil || !more {
					return false
				}
				if walk() {
					return true
				}
			}
		}
		return s.Skip() != nil
	}
	return walk()
}

func sameFacts(a, b Facts) bool {
	return a.Type == b.Type && a.ID == b.ID && a.VersionID == b.VersionID && a.LastUpdated == b.LastUpdated &&
		a.Patient == b.Patient && slices.Equal(a.Security, b.Security)
}

// TestInspectAsEncodingJSON: on the demo data and on the shapes that
// matter, Inspect reads what a decode with encoding/json reads.
func TestInspectAsEncodingJSON(t *testing.T) {
	inputs := inspectSamples
	files, _ := filepath.Glob("../demo/*.json")
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(raw))
	}
	if len(files) == 0 {
		t.Fatal("no demo resources")
	}
	for _, in := range inputs {
		compareInspect(t, []byte(in))
	}
}

var inspectSamples = []string{
	`{"resourceType":"Coverage","beneficiary":{"reference":"Patient/a"}}`,
	`{"resourceType":"Patient","id":"a"}`,
	`{"resourceType":"Patient","id":"\u0061-1","meta":{"versionId":"3","lastUpdated":"2024-01-01T00:00:00Z","security":[{"system":"s","code":"c"},null,{"code":"R"}]}}`,
	`{"resourceType":"ExplanationOfBenefit","id":"e","patient":{"reference":"Patient/p\u002d1","display":"x"},"item":[{"a":[1,2.5e3,true,false,null]}]}`,
	`{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/p1"},"patient":null,"meta":null}`,
	`{"resourceType":"Observation","subject":"Patient/p1"}`,
	`{"resourceType":"Observation","id":5}`,
	`{"resourceType":"Observation","meta":{"security":{}}}`,
	`{"resourceType":"Observation","meta":{"security":[{"code":1}]}}`,
	`{"resourceType":"Observation","meta":{"security":null}}`,
	`{"resourceType":"Observation","meta":{"security":[]}}`,
	`{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/p1"}} x`,
	`{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/p1"}`,
	`null`, `[]`, `"x"`, `5`, ``, `{}`, "{\"id\":\"\xff\"}", `{"resourceType":"Patient","id":"\ud800"}`,
	`{"resourceType":"Patient","id":"a","extra":{"id":"b","patient":{"reference":"Patient/b"}}}`,
}

func compareInspect(t *testing.T, raw []byte) {
	if foldsOntoAFact(raw) {
		return
	}
	got, err := Inspect(raw)
	want, werr := inspectJSON(raw)
	if err != nil && werr == nil && strings.Contains(err.Error(), "appears twice") {
		return // refused on purpose: see TestInspectRefusesDuplicates
	}
	if (err == nil) != (werr == nil) || err == nil && !sameFacts(got, want) {
		t.Fatalf("%q: Inspect %+v, %v; encoding/json %+v, %v", raw, got, err, want, werr)
	}
}

func FuzzInspectAsEncodingJSON(f *testing.F) {
	for _, in := range inspectSamples {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { compareInspect(t, raw) })
}

// TestInspectRefusesDuplicates: a member Inspect reads that appears twice
// could be read either way by the app's parser (encoding/json takes the
// last, others the first), so the resource is refused rather than judged
// by one of them; and a member in other case is not the member.
func TestInspectRefusesDuplicates(t *testing.T) {
	for _, raw := range []string{
		`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"subject":{"reference":"Patient/b"}}`,
		`{"resourceType":"Observation","subject":{"reference":"Patient/a","reference":"Patient/b"}}`,
		`{"resourceType":"Patient","id":"a","id":"b"}`,
		`{"resourceType":"Patient","resourceType":"Patient","id":"a"}`,
		`{"resourceType":"Patient","id":"a","meta":{"security":[]},"meta":{}}`,
		`{"resourceType":"Patient","id":"a","meta":{"security":[{"code":"R","code":"N"}]}}`,
		`{"resourceType":"Patient","id":"a","id":null}`,
	} {
		if f, err := Inspect([]byte(raw)); err == nil {
			t.Errorf("%s: Inspect = %+v, want it refused", raw, f)
		}
	}
	f, err := Inspect([]byte(`{"resourceType":"ExplanationOfBenefit","patient":{"reference":"Patient/a"},"Patient":{"reference":"Patient/b"}}`))
	if err != nil || f.Patient != "a" {
		t.Errorf("Patient read as patient: %+v, %v", f, err)
	}
}

func BenchmarkInspect(b *testing.B) {
	raw, err := os.ReadFile("../demo/alice-eob-1-inpatient.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		inspect func([]byte) (Facts, error)
	}{{"scan", Inspect}, {"encoding-json", inspectJSON}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.inspect(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
