package synth

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/fhir/conform"
)

// allProfiles are the C4BB profiles every data set must show.
var allProfiles = []string{profilePatient, profileCoverage, profileOrganization, profilePractitioner, profileRelatedPerson,
	profileInpatient, profileOutpatient, profileProfessional, profilePharmacy, profileOral}

type conformCoverage = conform.Coverage

func validator(t *testing.T) *conform.Validator {
	t.Helper()
	v, err := conform.Default()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func validate(t *testing.T, rs []Resource) *conform.Coverage {
	t.Helper()
	cov := validator(t).NewCoverage()
	errs := 0
	for _, r := range rs {
		issues, err := cov.Add(r.JSON)
		if err != nil {
			t.Fatalf("%s/%s: %v", r.Type, r.ID, err)
		}
		for _, i := range issues {
			if errs++; errs <= 40 {
				t.Errorf("%s/%s: %s", r.Type, r.ID, i)
			}
		}
	}
	if errs > 40 {
		t.Errorf("… %d issues in all", errs)
	}
	return cov
}

// TestDemoIsC4BBValid: every demo resource meets its profile, and together
// they show every must-support element of every profile.
func TestDemoIsC4BBValid(t *testing.T) {
	cov := validate(t, Demo())
	for p, ids := range cov.Missing(allProfiles...) {
		t.Errorf("%s: must-support elements in no demo resource:\n  %s", p, strings.Join(ids, "\n  "))
	}
}

// references are every relative "Type/id" reference in a resource.
func references(t *testing.T, raw []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["reference"].(string); ok {
				out = append(out, ref)
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	return out
}

// checkReferences: every reference in rs names a resource of rs.
func checkReferences(t *testing.T, rs []Resource) {
	t.Helper()
	have := map[string]bool{}
	for _, r := range rs {
		have[r.Type+"/"+r.ID] = true
	}
	for _, r := range rs {
		for _, ref := range references(t, r.JSON) {
			if !have[ref] {
				t.Errorf("%s/%s: reference %s resolves to nothing in the data", r.Type, r.ID, ref)
			}
		}
	}
}

func TestDemoReferencesResolve(t *testing.T) { checkReferences(t, Demo()) }

// checkKitRules applies the CARIN kit's own EOB tests to a data set: the
// insurer is the focal coverage's payor, the outcome is complete, the type
// has no data-absent reason.
func checkKitRules(t *testing.T, rs []Resource) {
	t.Helper()
	type ref struct {
		Reference string `json:"reference"`
	}
	payor := map[string]string{}
	for _, r := range rs {
		if r.Type == "Coverage" {
			var c struct{ Payor []ref }
			if err := json.Unmarshal(r.JSON, &c); err != nil || len(c.Payor) == 0 {
				t.Fatalf("Coverage/%s: %v", r.ID, err)
			}
			payor["Coverage/"+r.ID] = c.Payor[0].Reference
		}
	}
	for _, r := range rs {
		if r.Type != "ExplanationOfBenefit" {
			continue
		}
		var e struct {
			Insurer   ref
			Outcome   string
			Type      struct{ Coding []struct{ System string } }
			Insurance []struct {
				Focal    bool
				Coverage ref
			}
		}
		if err := json.Unmarshal(r.JSON, &e); err != nil {
			t.Fatal(err)
		}
		for _, ins := range e.Insurance {
			if got := payor[ins.Coverage.Reference]; ins.Focal != (got == e.Insurer.Reference) {
				t.Errorf("EOB/%s: insurer %s, focal=%v coverage's payor %s", r.ID, e.Insurer.Reference, ins.Focal, got)
			}
		}
		if e.Outcome != "complete" {
			t.Errorf("EOB/%s: outcome %q, the kit expects complete", r.ID, e.Outcome)
		}
		for _, c := range e.Type.Coding {
			if c.System == "http://terminology.hl7.org/CodeSystem/data-absent-reason" {
				t.Errorf("EOB/%s: type is a data-absent reason", r.ID)
			}
		}
	}
}

func TestDemoMeetsKitRules(t *testing.T) { checkKitRules(t, Demo()) }
