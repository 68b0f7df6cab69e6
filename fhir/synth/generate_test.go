package synth

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/patientaccess/gateway/fhir"
)

// TestGenerateIsDeterministic: the same options write the same bytes; a
// different seed writes other members.
func TestGenerateIsDeterministic(t *testing.T) {
	o := Options{Members: 100, Seed: 42}
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if _, err := Generate(dir, o); err != nil {
			t.Fatal(err)
		}
	}
	o.Seed = 43
	if _, err := Generate(c, o); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(a, "*.ndjson"))
	if len(files) != 6 {
		t.Fatalf("files %v, want one per type", files)
	}
	for _, f := range files {
		x, _ := os.ReadFile(f)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with the same seed", filepath.Base(f))
		}
	}
	x, _ := os.ReadFile(filepath.Join(a, "Patient.ndjson"))
	z, _ := os.ReadFile(filepath.Join(c, "Patient.ndjson"))
	if bytes.Equal(x, z) {
		t.Error("seeds 42 and 43 wrote the same Patients")
	}
}

func collect(t testing.TB, o Options) []Resource {
	t.Helper()
	var rs []Resource
	if err := Each(o, func(r Resource) error { rs = append(rs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return rs
}

// generatedMembers is the size of the set the tests validate whole.
const generatedMembers = 1000

// TestGeneratedSetIsC4BBValid: a 1,000-member set meets C4BB 2.0.0 and the
// kit's EOB rules, every reference in it resolves, and it shows every
// must-support element. The
// profile check covers the shared resources, the demo members and every
// tenth generated member (about 900 resources; the whole set takes minutes
// under -race); GATEWAY_TEST_FULL_DATA=1 checks all 1,000 members.
func TestGeneratedSetIsC4BBValid(t *testing.T) {
	rs := collect(t, Options{Members: generatedMembers, Seed: 2026})
	checkReferences(t, rs)
	checkKitRules(t, rs)
	if os.Getenv("GATEWAY_TEST_FULL_DATA") != "1" {
		rs = slices.DeleteFunc(rs, func(r Resource) bool { return r.Member >= 2 && r.Member%10 != 0 })
	}
	cov := validateParallel(t, rs)
	for p, ids := range cov.Missing(allProfiles...) {
		t.Errorf("%s: must-support elements in no generated resource: %v", p, ids)
	}
}

// validateParallel is validate on every CPU.
func validateParallel(t *testing.T, rs []Resource) *conformCoverage {
	t.Helper()
	v := validator(t)
	cov := v.NewCoverage()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := 0
	next := make(chan Resource)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for r := range next {
				issues, err := cov.Add(r.JSON)
				mu.Lock()
				if err != nil {
					t.Errorf("%s/%s: %v", r.Type, r.ID, err)
				}
				for _, i := range issues {
					if errs++; errs <= 20 {
						t.Errorf("%s/%s: %s", r.Type, r.ID, i)
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, r := range rs {
		next <- r
	}
	close(next)
	wg.Wait()
	if errs > 20 {
		t.Errorf("… %d issues in all", errs)
	}
	return cov
}

// TestGeneratedSetLoads: the written files load into the embedded store
// beside the demo data (the demo members in both are read once), and the
// demo members have exactly their demo claims.
func TestGeneratedSetLoads(t *testing.T) {
	dir := t.TempDir()
	s, err := Generate(dir, Options{Members: 100, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	d, err := fhir.ReadData(fhir.DemoData(), fhir.DirData(dir))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range s.Resources {
		total += n
	}
	demo := len(Demo())
	if d.Summary.Resources != total || d.Summary.Identical != demo || d.Summary.Patients != 100 {
		t.Fatalf("read %d resources (%d identical, %d members), wrote %d with the %d demo ones", d.Summary.Resources, d.Summary.Identical, d.Summary.Patients, total, demo)
	}
	src := fhir.NewMemorySource()
	if err := src.Load(d); err != nil {
		t.Fatal(err)
	}
}
