package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	cliPatient = `{"resourceType":"Patient","id":"carol-3003","meta":{"lastUpdated":"2024-01-01T00:00:00Z"}}`
	cliEOB     = `{"resourceType":"ExplanationOfBenefit","id":"eob-carol-1","meta":{"lastUpdated":"2024-01-02T00:00:00Z"},"status":"active","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"professional"}]},"use":"claim","patient":{"reference":"Patient/carol-3003"},"created":"2024-01-01","insurer":{"display":"Plan"},"provider":{"display":"Clinic"},"outcome":"complete","insurance":[{"focal":true,"coverage":{"display":"Plan coverage"}}]}`
)

// dataDir writes files (name → content) under a new directory.
func dataDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runWith(env map[string]string, args ...string) result {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func TestDataCheck(t *testing.T) {
	good := dataDir(t, map[string]string{
		"members/Patient.ndjson": cliPatient + "\n",
		"claims/eob.json":        `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + cliEOB + `}]}`,
	})
	bad := dataDir(t, map[string]string{
		"Patient.ndjson": cliPatient + "\n" + `{"resourceType":"Patient","id":"p2"}` + "\n",
		"eob.ndjson":     "{\n",
	})
	clash := dataDir(t, map[string]string{"p.ndjson": strings.Replace(cliPatient, "carol-3003", "alice-1001", 1) + "\n"})
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string
		stderr     []string
		noStdout   bool
		stderrNone bool
	}{
		{name: "valid", args: []string{"check", good}, code: 0,
			stdout: []string{good + ": ok", "2 resources from 2 files", "ExplanationOfBenefit", "members (Patient resources): 1"}, stderrNone: true},
		{name: "valid with the demo", args: []string{"check", "--demo", good}, code: 0,
			stdout: []string{"members (Patient resources): 3"}},
		{name: "every problem by file and line", args: []string{"check", bad}, code: 1, noStdout: true,
			stderr: []string{"FHIR data: 2 problems", filepath.Join(bad, "Patient.ndjson") + ":2: Patient/p2: meta.lastUpdated is required",
				filepath.Join(bad, "eob.ndjson") + ":1: not JSON"}},
		{name: "duplicate of the demo", args: []string{"check", "--demo", clash}, code: 1,
			stderr: []string{filepath.Join(clash, "p.ndjson") + ":1: Patient/alice-1001 is also in demo/alice-patient.json"}},
		{name: "the same without the demo", args: []string{"check", clash}, code: 0},
		{name: "missing directory", args: []string{"check", filepath.Join(good, "nope")}, code: 1, stderr: []string{"cannot read"}},
		{name: "no directory", args: []string{"check"}, code: 2, stderr: []string{"want one directory"}},
		{name: "two directories", args: []string{"check", good, bad}, code: 2, stderr: []string{"want one directory"}},
		{name: "unknown flag", args: []string{"check", "--nope", good}, code: 2},
		{name: "unknown command", args: []string{"load", good}, code: 2, stderr: []string{`unknown command "load"`}},
		{name: "no command", args: nil, code: 2, stderr: []string{"gateway data check"}},
		{name: "help", args: []string{"help"}, code: 0, stdout: []string{"gateway data check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runWith(nil, append([]string{"data"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d: %+v", r.code, tt.code, r)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if tt.noStdout && r.stdout != "" || tt.stderrNone && r.stderr != "" {
				t.Errorf("unexpected output: %+v", r)
			}
		})
	}
}

// TestServeRefusesBadData: serve with --data that has a problem exits 1
// naming file and line, before listening.
func TestServeRefusesBadData(t *testing.T) {
	other := strings.Replace(cliPatient, `"resourceType":"Patient"`, `"resourceType":"Patient","active":true`, 1)
	bad := dataDir(t, map[string]string{"x.ndjson": cliPatient + "\n" + other + "\n"})
	r := runWith(map[string]string{"GATEWAY_ADDR": "127.0.0.1:0"}, "serve", "--data", bad)
	want := filepath.Join(bad, "x.ndjson") + ":2: Patient/carol-3003 is also in " + filepath.Join(bad, "x.ndjson") + ":1"
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stdout, "listening") {
		t.Fatalf("serve with bad data: %+v, want exit 1 saying %q", r, want)
	}
	r = runWith(map[string]string{"GATEWAY_FHIR_UPSTREAM_URL": "https://fhir.example/r4"}, "serve", "--data", bad)
	if r.code != 2 || !strings.Contains(r.stderr, "GATEWAY_FHIR_UPSTREAM_URL") {
		t.Fatalf("serve with data and an upstream: %+v, want exit 2", r)
	}
}

// TestDataGenerate: "data generate" writes a set that "data check" reads
// with the demo data (the demo members in both read once), the same seed
// writes the same bytes, and bad flags are exit 2.
func TestDataGenerate(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		r := runWith(nil, "data", "generate", "--members", "40", "--seed", "5", "--out", dir)
		if r.code != 0 || !strings.Contains(r.stdout, dir+": 40 members") || !strings.Contains(r.stdout, "ExplanationOfBenefit") {
			t.Fatalf("generate: %+v", r)
		}
	}
	for _, name := range []string{"Patient.ndjson", "ExplanationOfBenefit.ndjson", "Organization.ndjson"} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, err := os.ReadFile(filepath.Join(b, name))
		if err != nil || len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with seed 5 (%v)", name, err)
		}
	}
	r := runWith(nil, "data", "check", "--demo", a)
	if r.code != 0 || !strings.Contains(r.stdout, "members (Patient resources): 40") || !strings.Contains(r.stdout, "read twice with the same content, kept once") {
		t.Fatalf("check --demo of the generated set: %+v", r)
	}
	for _, args := range [][]string{
		{"data", "generate", "--members", "40"},
		{"data", "generate", "--members", "1", "--out", a},
		{"data", "generate", "--members", "40", "--claims", "0", "--out", a},
		{"data", "generate", "--members", "40", "--out", a, "extra"},
	} {
		if r := runWith(nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
}
