package conform

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
)

func validator(t testing.TB) *Validator {
	t.Helper()
	v, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// knownExampleDeviations are HL7's own examples that break the intent of
// an invariant the IG publisher passes only because its FHIRPath is
// vacuous: "role.where(…).exists().provider" navigates from a Boolean, so
// ".all(resolve() is Practitioner)" is true of every resource. This
// package checks what the invariant says in words.
var knownExampleDeviations = map[string]string{
	"ExplanationOfBenefit-EOBProfessional2.json":               "careTeam[0].provider: a care team member in role rendering/primary/referring/supervising must be a Practitioner",
	"ExplanationOfBenefit-EOBProfessionalTransportation1.json": "careTeam[0].provider: a care team member in role rendering/primary/referring/supervising must be a Practitioner",
}

// TestHL7ExamplesPass runs the validator over every example of the IG
// package: a validator that refused HL7's own examples would be wrong.
func TestHL7ExamplesPass(t *testing.T) {
	v := validator(t)
	if len(v.Examples()) < 30 {
		t.Fatalf("%d examples in the package", len(v.Examples()))
	}
	for name, raw := range v.Examples() {
		issues, err := v.Validate(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := knownExampleDeviations[name]
		for _, i := range issues {
			if want == "" || !strings.Contains(i.String(), want) {
				t.Errorf("%s: %s", name, i)
			}
		}
		if want != "" && len(issues) == 0 {
			t.Errorf("%s: the known deviation %q is no longer found", name, want)
		}
	}
}

// mutate decodes raw, applies f, and encodes it again.
func mutate(t *testing.T, raw []byte, f func(r map[string]any)) []byte {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	f(r)
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(v any) map[string]any { return v.(map[string]any) }
func arr(v any) []any          { return v.([]any) }

// TestValidatorCatchesBrokenResources breaks HL7's examples one way each
// and checks the validator says so, where.
func TestValidatorCatchesBrokenResources(t *testing.T) {
	v := validator(t)
	ex := v.Examples()
	tests := []struct {
		name    string
		example string
		mutate  func(r map[string]any)
		want    string // in one Issue's String()
	}{
		{"unversioned profile", "ExplanationOfBenefit-EOBPharmacy1.json", func(r map[string]any) {
			obj(r["meta"])["profile"] = []any{"http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-ExplanationOfBenefit-Pharmacy"}
		}, "meta.profile: must name http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-ExplanationOfBenefit-Pharmacy|2.0.0 (versioned)"},
		{"other version", "Patient-Patient1.json", func(r map[string]any) {
			obj(r["meta"])["profile"] = []any{"http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Patient|1.1.0"}
		}, "this package is version 2.0.0"},
		{"no profile", "Coverage-Coverage1.json", func(r map[string]any) { delete(obj(r["meta"]), "profile") }, "declares no profile"},
		{"missing required slice", "ExplanationOfBenefit-EOBPharmacy1.json", func(r map[string]any) {
			r["supportingInfo"] = slices.DeleteFunc(arr(r["supportingInfo"]), func(x any) bool {
				return strings.Contains(compact(x), `"dayssupply"`)
			})
		}, `ExplanationOfBenefit.supportingInfo: required slice "dayssupply": minimum 1, found 0`},
		{"missing header adjudication slice", "ExplanationOfBenefit-EOBInpatient1.json", func(r map[string]any) {
			r["adjudication"] = slices.DeleteFunc(arr(r["adjudication"]), func(x any) bool {
				return strings.Contains(compact(x), `"benefitpaymentstatus"`)
			})
		}, `required slice "benefitpaymentstatus"`},
		{"wrong pattern (claim type)", "ExplanationOfBenefit-EOBPharmacy1.json", func(r map[string]any) {
			obj(arr(obj(r["type"])["coding"])[0])["code"] = "professional"
		}, `ExplanationOfBenefit.type: must match the pattern`},
		{"wrong fixed code (use)", "ExplanationOfBenefit-EOBOutpatient1.json", func(r map[string]any) { r["use"] = "preauthorization" },
			`ExplanationOfBenefit.use: must match the pattern "claim"`},
		{"wrong binding system", "ExplanationOfBenefit-EOBProfessional1.json", func(r map[string]any) {
			item := obj(arr(r["item"])[0])
			obj(arr(obj(item["productOrService"])["coding"])[0])["system"] = "https://bluebutton.cms.gov/resources/codesystem/hcpcs"
		}, `ExplanationOfBenefit.item[0].productOrService: no coding is in http://hl7.org/fhir/us/carin-bb/ValueSet/AMACPTCMSHCPCSProcedureCodes`},
		{"code not in a package value set", "ExplanationOfBenefit-EOBInpatient1.json", func(r map[string]any) {
			obj(arr(obj(r["subType"])["coding"])[0])["code"] = "daycare"
		}, `ExplanationOfBenefit.subType: no coding is in`},
		{"missing required element", "ExplanationOfBenefit-EOBOral1.json", func(r map[string]any) { delete(r, "created") },
			"ExplanationOfBenefit.created: minimum cardinality 1, found 0"},
		{"too many", "Patient-Patient1.json", func(r map[string]any) {
			r["extension"] = append([]any{}, map[string]any{"url": usCoreBirthSex, "valueCode": "F"}, map[string]any{"url": usCoreBirthSex, "valueCode": "F"})
		}, `slice "birthsex": maximum 1`},
		{"bad US Core birth sex", "Patient-Patient1.json", func(r map[string]any) {
			r["extension"] = []any{map[string]any{"url": usCoreBirthSex, "valueCode": "female"}}
		}, "birth sex must be M, F or UNK"},
		{"date format", "ExplanationOfBenefit-EOBPharmacy1.json", func(r map[string]any) { r["created"] = "yesterday" },
			`ExplanationOfBenefit.created: "yesterday" is not a valid dateTime`},
		{"unknown element", "Coverage-Coverage1.json", func(r map[string]any) { r["colour"] = "blue" }, "Coverage.colour: unknown element"},
		{"status code", "ExplanationOfBenefit-EOBPharmacy1.json", func(r map[string]any) { r["status"] = "finished" },
			`ExplanationOfBenefit.status: code "finished" is not in http://hl7.org/fhir/ValueSet/explanationofbenefit-status|4.0.1`},
		{"reference target type", "ExplanationOfBenefit-EOBPharmacy1.json", func(r map[string]any) {
			obj(r["insurer"])["reference"] = "Practitioner/Practitioner1"
		}, `ExplanationOfBenefit.insurer.reference: "Practitioner/Practitioner1": may only name Organization`},
		{"two focal insurances", "ExplanationOfBenefit-EOBPharmacy1.json", func(r map[string]any) {
			r["insurance"] = append(arr(r["insurance"]), arr(r["insurance"])[0])
		}, "2 insurances are focal"},
		{"practitioner without NPI", "Practitioner-Practitioner1.json", func(r map[string]any) { delete(r, "identifier") },
			"Practitioner.identifier: needs an identifier typed NPI or TAX"},
		{"amounts on header and items", "ExplanationOfBenefit-EOBInpatient1.json", func(r map[string]any) {
			item := map[string]any{"sequence": 1, "revenue": map[string]any{"coding": []any{map[string]any{"system": "https://www.nubc.org/CodeSystem/RevenueCodes", "code": "0100"}}},
				"productOrService": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-applicable"}}},
				"adjudication":     []any{map[string]any{"category": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "submitted"}}}, "amount": map[string]any{"value": 1, "currency": "USD"}}}}
			r["item"] = []any{item}
		}, "adjudication amounts must be on the header or on the items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, ok := ex[tt.example]
			if !ok {
				t.Fatalf("no example %s", tt.example)
			}
			issues, err := v.Validate(mutate(t, raw, tt.mutate))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, i := range issues {
				got = append(got, i.String())
				if strings.Contains(i.String(), tt.want) {
					return
				}
			}
			t.Errorf("no issue says %q; got:\n%s", tt.want, strings.Join(got, "\n"))
		})
	}
}

// TestInvariantsAccountedFor: every invariant the package's profiles add
// is evaluated here or named in Unchecked, so a new IG version's
// invariants cannot be skipped silently.
func TestInvariantsAccountedFor(t *testing.T) {
	v := validator(t)
	var missing []string
	for _, p := range v.profiles {
		for _, k := range p.invariants {
			if invariants[k] == nil && !strings.HasSuffix(k, "-meta-profile-version") && !slices.Contains(Unchecked, k) {
				missing = append(missing, k)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("invariants neither checked nor listed in Unchecked: %v", slices.Compact(missing))
	}
}

// TestEveryRequiredBindingResolves: a required binding the validator
// cannot expand would check nothing.
func TestEveryRequiredBindingResolves(t *testing.T) {
	v := validator(t)
	for _, p := range v.profiles {
		for _, e := range p.all {
			if e.binding != nil && v.terms.lookup(e.binding.ValueSet) == nil {
				t.Errorf("%s %s: value set %s not available", profileName(p.url), e.id, e.binding.ValueSet)
			}
		}
	}
}
