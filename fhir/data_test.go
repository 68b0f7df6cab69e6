package fhir

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

const updated = "2024-01-01T00:00:00Z"

func patientJSON(id string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,"meta":{"lastUpdated":%q}}`, id, updated)
}

// otherPatientJSON is Patient id with other content than patientJSON's.
func otherPatientJSON(id string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,"meta":{"lastUpdated":%q},"active":true}`, id, updated)
}

func orgJSON(id string) string {
	return fmt.Sprintf(`{"resourceType":"Organization","id":%q,"meta":{"lastUpdated":%q},"name":"Plan"}`, id, updated)
}

// bundleJSON is an indented Bundle of the given type; with one-line
// resources, entry i starts on line 5+5*i.
func bundleJSON(typ string, resources ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n  \"resourceType\": \"Bundle\",\n  \"type\": %q,\n  \"entry\": [", typ)
	for i, r := range resources {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    {\n      \"fullUrl\": \"urn:uuid:%d\",\n      \"resource\": %s,\n      \"request\": {\"method\": \"PUT\"}\n    }", i, r)
	}
	b.WriteString("\n  ]\n}\n")
	return b.String()
}

func ndjson(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func gzipped(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func mapFS(files map[string]string) DataSource {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return DataSource{Name: "data", FS: fsys}
}

// TestReadDataLoads pins the formats that load, and what each loads.
func TestReadDataLoads(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // Type/id that must be readable afterwards
	}{
		{"collection Bundle", map[string]string{"b.json": bundleJSON("collection", patientJSON("p1"), eobJSON("e1", "p1", updated))},
			[]string{"Patient/p1", "ExplanationOfBenefit/e1"}},
		{"transaction Bundle", map[string]string{"b.json": bundleJSON("transaction", patientJSON("p1"))}, []string{"Patient/p1"}},
		{"searchset Bundle", map[string]string{"b.json": bundleJSON("searchset", orgJSON("o1"))}, []string{"Organization/o1"}},
		{"batch Bundle", map[string]string{"b.json": bundleJSON("batch", patientJSON("p1"))}, []string{"Patient/p1"}},
		{"empty Bundle", map[string]string{"b.json": `{"resourceType":"Bundle","type":"collection"}`, "p.json": patientJSON("p1")}, []string{"Patient/p1"}},
		{"entry before resourceType", map[string]string{"b.json": `{"entry":[{"resource":` + patientJSON("p1") + `}],"resourceType":"Bundle"}`}, []string{"Patient/p1"}},
		{"one resource per file", map[string]string{"p.json": patientJSON("p1"), "o.JSON": orgJSON("o1")}, []string{"Patient/p1", "Organization/o1"}},
		{"NDJSON", map[string]string{"EOB.ndjson": ndjson(eobJSON("e1", "p1", updated), eobJSON("e2", "p1", updated))},
			[]string{"ExplanationOfBenefit/e1", "ExplanationOfBenefit/e2"}},
		{"NDJSON with BOM, CRLF, blank lines and no final newline", map[string]string{"x.ndjson": "\xef\xbb\xbf" + patientJSON("p1") + "\r\n\r\n  \n" + orgJSON("o1")},
			[]string{"Patient/p1", "Organization/o1"}},
		{"gzipped NDJSON", map[string]string{"p.ndjson.gz": gzipped(t, ndjson(patientJSON("p1"), patientJSON("p2")))}, []string{"Patient/p1", "Patient/p2"}},
		{"nested directories", map[string]string{"a/b/c/p.ndjson": ndjson(patientJSON("p1")), "a/o.json": orgJSON("o1")},
			[]string{"Patient/p1", "Organization/o1"}},
		{"other and hidden files ignored", map[string]string{"p.json": patientJSON("p1"), "README.md": "# not data", ".git/x.json": "nonsense", ".tmp.json": "nonsense"},
			[]string{"Patient/p1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ReadData(mapFS(tt.files))
			if err != nil {
				t.Fatalf("ReadData: %v", err)
			}
			s := NewMemorySource()
			if err := s.Load(d); err != nil {
				t.Fatalf("Load: %v", err)
			}
			for _, key := range tt.want {
				typ, id, _ := strings.Cut(key, "/")
				get(t, s, typ, id)
			}
			if len(s.byKey) != len(tt.want) || d.Summary.Resources != len(tt.want) {
				t.Fatalf("loaded %d resources (summary %d), want %d", len(s.byKey), d.Summary.Resources, len(tt.want))
			}
		})
	}
}

// TestReadDataKeepsBytes: a resource from a Bundle is stored as Add stores
// it: compacted, every field kept.
func TestReadDataKeepsBytes(t *testing.T) {
	p := `{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"},"birthDate":"1990-01-01","_birthDate":{"extension":[{"url":"http://example.org/x","valueString":"<&>"}]}}`
	var indented bytes.Buffer
	if err := json.Indent(&indented, []byte(p), "", "  "); err != nil {
		t.Fatal(err)
	}
	d, err := ReadData(mapFS(map[string]string{"b.json": bundleJSON("collection", indented.String())}))
	if err != nil {
		t.Fatal(err)
	}
	s := NewMemorySource()
	if err := s.Load(d); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "Patient", "p1"); string(got) != p {
		t.Fatalf("stored %s, want %s", got, p)
	}
}

// TestReadDataRefuses pins that each kind of bad input is named by file
// and line (and Bundle entry), and that nothing is returned to load.
func TestReadDataRefuses(t *testing.T) {
	noUpdated := `{"resourceType":"Patient","id":"p2"}`
	tests := []struct {
		name  string
		files map[string]string
		dr    DataReader
		want  []string
	}{
		{"NDJSON line not JSON", map[string]string{"x.ndjson": ndjson(patientJSON("p1"), "", `{"resourceType":`)},
			DataReader{}, []string{"data/x.ndjson:3: not JSON"}},
		{"NDJSON line not valid", map[string]string{"x.ndjson": ndjson(patientJSON("p1"), noUpdated)},
			DataReader{}, []string{"data/x.ndjson:2: Patient/p2: meta.lastUpdated is required"}},
		{"type not served", map[string]string{"obs.ndjson": ndjson(`{"resourceType":"Observation","id":"o1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"}}`)},
			DataReader{}, []string{`data/obs.ndjson:1: resource type "Observation" is not served`}},
		{"member data of no patient", map[string]string{"e.ndjson": ndjson(strings.Replace(eobJSON("e1", "p1", updated), "Patient/p1", "urn:uuid:1", 1))},
			DataReader{}, []string{"data/e.ndjson:1: ExplanationOfBenefit/e1: patient must be a Patient/<id> reference"}},
		{"golang-fhir-models refuses", map[string]string{"p.ndjson": ndjson(strings.Replace(patientJSON("p1"), "}}", `},"gender":"robot"}`, 1))},
			DataReader{}, []string{"data/p.ndjson:1: invalid Patient"}},
		{"Bundle entry invalid", map[string]string{"b.json": bundleJSON("transaction", patientJSON("p1"), noUpdated)},
			DataReader{}, []string{"data/b.json:10: entry[1]: Patient/p2: meta.lastUpdated is required"}},
		{"Bundle entry without resource", map[string]string{"b.json": strings.Replace(bundleJSON("transaction", patientJSON("p1"), "null"), `"resource": null`, `"x": 1`, 1)},
			DataReader{}, []string{"data/b.json:10: entry[1]: entry has no resource"}},
		{"Bundle entry not an object", map[string]string{"b.json": `{"resourceType":"Bundle","entry":[7]}`},
			DataReader{}, []string{"data/b.json:1: entry[0]: entry is not an object with a resource"}},
		{"Bundle.entry not an array", map[string]string{"b.json": `{"resourceType":"Bundle","entry":{}}`},
			DataReader{}, []string{"data/b.json:1: Bundle.entry is not an array"}},
		{"JSON syntax error", map[string]string{"bad.json": "{\n  \"resourceType\": \"Patient\",\n  \"id\": \"p1\"\n  \"x\": 1\n}"},
			DataReader{}, []string{"data/bad.json:4: not JSON"}},
		{"JSON not an object", map[string]string{"a.json": "[1]"}, DataReader{}, []string{"data/a.json:1: not a JSON object"}},
		{"empty JSON file", map[string]string{"a.json": ""}, DataReader{}, []string{"data/a.json:1: not JSON"}},
		{"Bundle nested in a Bundle", map[string]string{"b.json": bundleJSON("collection", `{"resourceType":"Bundle"}`)},
			DataReader{}, []string{`data/b.json:5: entry[0]: resource type "Bundle" is not served`}},
		{"duplicate across files", map[string]string{"a.ndjson": ndjson(patientJSON("p1")), "b/c.json": bundleJSON("collection", orgJSON("o"), otherPatientJSON("p1"))},
			DataReader{}, []string{"data/b/c.json:10: entry[1]: Patient/p1 is also in data/a.ndjson:1, with other content"}},
		{"duplicate in one file", map[string]string{"a.ndjson": ndjson(patientJSON("p1"), otherPatientJSON("p1"))},
			DataReader{}, []string{"data/a.ndjson:2: Patient/p1 is also in data/a.ndjson:1, with other content"}},
		{"created not a dateTime", map[string]string{"e.ndjson": ndjson(patientJSON("p1"), strings.Replace(eobJSON("e1", "p1", updated), `"2024-01-01"`, `"yesterday"`, 1))},
			DataReader{}, []string{`data/e.ndjson:2: ExplanationOfBenefit/e1 is not valid FHIR R4: ExplanationOfBenefit.created: "yesterday" is not a valid dateTime`}},
		{"no status", map[string]string{"e.ndjson": ndjson(patientJSON("p1"), strings.Replace(eobJSON("e1", "p1", updated), `"status":"active",`, "", 1))},
			DataReader{}, []string{`data/e.ndjson:2: ExplanationOfBenefit/e1 is not valid FHIR R4: ExplanationOfBenefit.status: minimum cardinality 1, found 0`}},
		{"unknown element", map[string]string{"e.ndjson": ndjson(patientJSON("p1"), strings.Replace(eobJSON("e1", "p1", updated), `"use":"claim"`, `"use":"claim","colour":"blue"`, 1))},
			DataReader{}, []string{`data/e.ndjson:2: ExplanationOfBenefit/e1 is not valid FHIR R4: ExplanationOfBenefit.colour: unknown element`}},
		{"the owner twice", map[string]string{"e.ndjson": ndjson(patientJSON("p1"), patientJSON("p2"), strings.Replace(eobJSON("e1", "p1", updated),
			`"patient":{"reference":"Patient/p1"}`, `"patient":{"reference":"Patient/p1"},"patient":{"reference":"Patient/p2"}`, 1))},
			DataReader{}, []string{`data/e.ndjson:3: not a FHIR resource: member "patient" appears twice`}},
		{"status not a code of the value set", map[string]string{"e.ndjson": ndjson(patientJSON("p1"), strings.Replace(eobJSON("e1", "p1", updated), `"status":"active"`, `"status":"finished"`, 1))},
			DataReader{}, []string{"data/e.ndjson:2: invalid ExplanationOfBenefit: unknown ExplanationOfBenefitStatus code `finished`"}},
		{"positiveInt", map[string]string{"e.ndjson": ndjson(patientJSON("p1"), strings.Replace(eobJSON("e1", "p1", updated), `"outcome":"complete"`,
			`"outcome":"complete","item":[{"sequence":0,"productOrService":{"text":"visit"}}]`, 1))},
			DataReader{}, []string{`data/e.ndjson:2: ExplanationOfBenefit/e1 is not valid FHIR R4: ExplanationOfBenefit.item[0].sequence: 0 is not a valid positiveInt`}},
		{"a Coverage without its payor", map[string]string{"c.ndjson": ndjson(`{"resourceType":"Coverage","id":"c1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"},"status":"active","beneficiary":{"reference":"Patient/p1"}}`)},
			DataReader{}, []string{`data/c.ndjson:1: Coverage/c1 is not valid FHIR R4: Coverage.payor: minimum cardinality 1, found 0`}},
		{"line too long, the next still read", map[string]string{"a.ndjson": ndjson(patientJSON("p1"), strings.Repeat(" ", 300), `{`)},
			DataReader{MaxLine: 200}, []string{"data/a.ndjson:2: line longer than 200 bytes", "data/a.ndjson:3: not JSON"}},
		{"JSON file too large", map[string]string{"a.json": bundleJSON("collection", patientJSON("p1"))},
			DataReader{MaxFile: 100}, []string{"data/a.json: larger than 100 bytes"}},
		{"not gzip", map[string]string{"a.ndjson.gz": ndjson(patientJSON("p1"))}, DataReader{}, []string{"data/a.ndjson.gz: not gzip"}},
		{"truncated gzip", map[string]string{"a.ndjson.gz": gzipped(t, ndjson(patientJSON("p1"), patientJSON("p2")))[:40]},
			DataReader{}, []string{"data/a.ndjson.gz:1: cannot read: unexpected EOF"}},
		{"no data file", map[string]string{"README.md": "x"}, DataReader{}, []string{"data: no .json, .ndjson or .ndjson.gz file in it"}},
		{"every problem in every file", map[string]string{"a.ndjson": ndjson("{", patientJSON("p1"), "[]"), "b.json": "nope"},
			DataReader{}, []string{"data/a.ndjson:1: not JSON", "data/a.ndjson:3: ", "data/b.json:1: not JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.dr.Read(mapFS(tt.files))
			var de *DataError
			if !errors.As(err, &de) || d != nil {
				t.Fatalf("Read = %v, %v; want no Dataset and a *DataError", d, err)
			}
			if de.Total != len(tt.want) || len(de.Problems) != len(tt.want) {
				t.Errorf("%d problems (%d listed), want %d:\n%v", de.Total, len(de.Problems), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), "\n  "+w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestReadDataCapsProblems: every problem is counted; the first
// MaxProblems are listed.
func TestReadDataCapsProblems(t *testing.T) {
	lines := make([]string, MaxProblems+12)
	for i := range lines {
		lines[i] = "{"
	}
	_, err := ReadData(mapFS(map[string]string{"a.ndjson": ndjson(lines...)}))
	var de *DataError
	if !errors.As(err, &de) || de.Total != MaxProblems+12 || len(de.Problems) != MaxProblems {
		t.Fatalf("got %v", err)
	}
	if !strings.HasSuffix(err.Error(), "\n  … and 12 more") || !strings.HasPrefix(err.Error(), fmt.Sprintf("FHIR data: %d problems", MaxProblems+12)) {
		t.Fatalf("error does not count the rest:\n%v", err)
	}
}

// TestReadDataDirectory reads a real directory tree through DirData, and
// names a missing one.
// TestReadDataKeepsIdenticalOnce: the same resource read twice, byte for
// byte after compaction (a generated set holds the demo members, and is
// read beside the demo data), is kept once and counted, not refused.
func TestReadDataKeepsIdenticalOnce(t *testing.T) {
	pretty := strings.ReplaceAll(patientJSON("p1"), ",", ",\n  ")
	d, err := DataReader{}.Read(mapFS(map[string]string{"a.ndjson": ndjson(patientJSON("p1")), "b.json": pretty}))
	if err != nil {
		t.Fatal(err)
	}
	if d.Summary.Resources != 1 || d.Summary.Identical != 1 || !strings.Contains(d.Summary.String(), "1 read twice with the same content, kept once") {
		t.Fatalf("summary %+v", d.Summary)
	}
}

func TestReadDataDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("members/Patient.ndjson", ndjson(patientJSON("p1"), patientJSON("p2")))
	write("claims/2024/EOB.ndjson.gz", gzipped(t, ndjson(eobJSON("e1", "p1", updated), eobJSON("e2", "p3", updated))))
	write("reference/orgs.json", bundleJSON("collection", orgJSON("o1")))
	write("notes.txt", "ignored")
	d, err := ReadData(DirData(dir))
	if err != nil {
		t.Fatal(err)
	}
	s := d.Summary
	if s.Files != 3 || s.Resources != 5 || s.Types["Patient"] != 2 || s.Types["ExplanationOfBenefit"] != 2 ||
		s.Patients != 2 || s.Compartments != 2 || strings.Join(s.Orphans, ",") != "p3" || len(s.Skipped) != 1 {
		t.Fatalf("summary %+v", s)
	}
	for _, want := range []string{"5 resources from 3 files (1 other files ignored: " + filepath.Join(dir, "notes.txt") + ")", "  Patient                2\n", "members (Patient resources): 2", "no Patient resource: p3"} {
		if !strings.Contains(s.String(), want) {
			t.Errorf("summary text lacks %q:\n%s", want, s)
		}
	}

	missing := filepath.Join(dir, "nope")
	_, err = ReadData(DirData(missing))
	if err == nil || !strings.Contains(err.Error(), missing+": cannot read: ") {
		t.Fatalf("missing directory: %v", err)
	}
}

// TestLoadIsAllOrNothing: Load refuses a Dataset holding a Type/id the
// source already has, and then nothing of it is visible.
func TestLoadIsAllOrNothing(t *testing.T) {
	s := loadDemo(t)
	before := len(s.byKey)
	d, err := ReadData(mapFS(map[string]string{"a.ndjson": ndjson(patientJSON("new-1"), patientJSON("alice-1001"))}))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Load(d)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "Patient/alice-1001") {
		t.Fatalf("Load = %v, want a conflict naming Patient/alice-1001", err)
	}
	if len(s.byKey) != before {
		t.Fatalf("%d resources after a refused Load, want %d", len(s.byKey), before)
	}
	if _, err := s.Read(context.Background(), readQuery("Patient", "new-1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a resource of a refused Load is visible: %v", err)
	}
}

// TestReadDataDemoAndDirectory: demo data and a directory read together;
// a Type/id in both is a problem naming both places.
func TestReadDataDemoAndDirectory(t *testing.T) {
	d, err := ReadData(DemoData(), mapFS(map[string]string{"p.ndjson": ndjson(patientJSON("carol-3003"))}))
	if err != nil {
		t.Fatal(err)
	}
	if d.Summary.Patients != 3 {
		t.Fatalf("%d patients, want the 2 demo members and carol", d.Summary.Patients)
	}
	_, err = ReadData(DemoData(), mapFS(map[string]string{"p.ndjson": ndjson(patientJSON("alice-1001"))}))
	if err == nil || !strings.Contains(err.Error(), "data/p.ndjson:1: Patient/alice-1001 is also in demo/alice-patient.json") {
		t.Fatalf("duplicate across demo and data: %v", err)
	}
}
