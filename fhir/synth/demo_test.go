package synth

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// demoDir is the gateway's embedded demo data.
const demoDir = "../demo"

var kindNames = [...]string{"inpatient", "outpatient", "professional", "pharmacy", "oral"}

// demoFiles lays Demo out as the files of fhir/demo: one per member
// resource, named for the member, and the shared directory in one
// collection Bundle.
func demoFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	var directory []json.RawMessage
	indent := func(raw []byte) []byte {
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			t.Fatal(err)
		}
		return append(b.Bytes(), '\n')
	}
	for i, m := range demoMembers() {
		who, _, _ := strings.Cut(m.patientID, "-")
		for _, r := range m.resources(i) {
			var name string
			switch r.Type {
			case "Patient", "Coverage", "RelatedPerson":
				name = who + "-" + strings.ToLower(r.Type)
			default:
				n := r.ID[strings.LastIndexByte(r.ID, '-')+1:]
				c := m.claims[slices.IndexFunc(m.claims, func(c claim) bool { return c.id == r.ID })]
				kind := kindNames[c.kind]
				if c.sensitive {
					kind = "sensitive"
				}
				name = who + "-eob-" + n + "-" + kind
			}
			files[name+".json"] = indent(r.JSON)
		}
	}
	for _, r := range directory20() {
		directory = append(directory, r.JSON)
	}
	entries := make([]O, len(directory))
	for i, raw := range directory {
		entries[i] = O{{"resource", raw}}
	}
	bundle, err := marshal(O{{"resourceType", "Bundle"}, {"id", "demo-directory"}, {"type", "collection"}, {"entry", entries}})
	if err != nil {
		t.Fatal(err)
	}
	files["directory.json"] = indent(bundle)
	return files
}

func directory20() []Resource { return directory(DemoProviders) }

// TestDemoFiles: the embedded demo data is exactly what Demo generates, so
// the demo members are the same in the embedded store and in every
// generated set. GATEWAY_UPDATE_DEMO=1 rewrites fhir/demo.
func TestDemoFiles(t *testing.T) {
	want := demoFiles(t)
	if os.Getenv("GATEWAY_UPDATE_DEMO") == "1" {
		old, _ := filepath.Glob(filepath.Join(demoDir, "*.json"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		for name, data := range want {
			if err := os.WriteFile(filepath.Join(demoDir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := filepath.Glob(filepath.Join(demoDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%d demo files, Demo makes %d (GATEWAY_UPDATE_DEMO=1 rewrites them)", len(got), len(want))
	}
	for name, data := range want {
		have, err := os.ReadFile(filepath.Join(demoDir, name))
		if err != nil || !bytes.Equal(have, data) {
			t.Errorf("%s differs from what Demo makes (%v); GATEWAY_UPDATE_DEMO=1 rewrites it", name, err)
		}
	}
}
