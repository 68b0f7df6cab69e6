package catalog

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestCompartmentsMatchHL7 checks every type's compartment parameters
// against the FHIR R4 Patient CompartmentDefinition as HL7 publishes it,
// and that the owner a member-data type is checked by is one of them (or
// the Patient itself).
func TestCompartmentsMatchHL7(t *testing.T) {
	raw, err := os.ReadFile("testdata/compartmentdefinition-patient.json")
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		Resource []struct {
			Code  string   `json:"code"`
			Param []string `json:"param"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	hl7 := map[string][]string{}
	for _, r := range def.Resource {
		hl7[r.Code] = r.Param
	}
	for _, typ := range All() {
		want, ok := hl7[typ.Name]
		if !ok {
			t.Errorf("%s: not an R4 resource type in the CompartmentDefinition", typ.Name)
			continue
		}
		if !slices.Equal(typ.Compartment, want) {
			t.Errorf("%s: compartment %v, HL7 says %v", typ.Name, typ.Compartment, want)
		}
		switch {
		case typ.Kind == Shared && (len(want) > 0 || typ.Owner != Owner{}):
			t.Errorf("%s: shared type, but HL7 puts it in the patient compartment by %v (owner %+v)", typ.Name, want, typ.Owner)
		case typ.Kind == MemberData && typ.Name != "Patient" && len(want) == 0:
			t.Errorf("%s: member data, but not in the patient compartment", typ.Name)
		}
	}
}

// TestOwnersAreReadable checks that every member-data type's owner element
// is one Inspect reads, and that its owner search parameter exists on the
// type and reads the same element.
func TestOwnersAreReadable(t *testing.T) {
	readable := []string{"id", "patient", "beneficiary", "subject"}
	for _, typ := range All() {
		if typ.Kind != MemberData {
			continue
		}
		if !slices.Contains(readable, typ.Owner.Element) {
			t.Errorf("%s: owner element %q is not read by Inspect", typ.Name, typ.Owner.Element)
		}
		p, ok := typ.Param(typ.Owner.Param)
		if !ok {
			t.Errorf("%s: owner parameter %q is not a search parameter of the type", typ.Name, typ.Owner.Param)
			continue
		}
		if p.Path != typ.Owner.Element {
			t.Errorf("%s: owner parameter %q reads %q, owner element is %q", typ.Name, p.Name, p.Path, typ.Owner.Element)
		}
	}
}

// TestIncludesAreReferencesToKnownTypes checks every _include target.
func TestIncludesAreReferencesToKnownTypes(t *testing.T) {
	for _, typ := range All() {
		for _, inc := range typ.Includes {
			if inc.Kind != Reference || len(inc.Targets) == 0 || inc.Definition == "" {
				t.Errorf("%s:%s: want a reference parameter with targets and a definition", typ.Name, inc.Name)
			}
			for _, target := range inc.Targets {
				if _, ok := Lookup(target); !ok {
					t.Errorf("%s:%s targets %s, which the catalog does not know", typ.Name, inc.Name, target)
				}
			}
		}
		for _, p := range typ.Params {
			if p.Definition == "" || p.Path == "" {
				t.Errorf("%s?%s: want a path and a definition", typ.Name, p.Name)
			}
		}
		if typ.Label == "" {
			t.Errorf("%s has no label for members", typ.Name)
		}
	}
}

func TestInspect(t *testing.T) {
	tests := []struct {
		name, raw   string
		wantType    string
		wantPatient string
	}{
		{"patient by id", `{"resourceType":"Patient","id":"p-1"}`, "Patient", "p-1"},
		{"patient with bad id", `{"resourceType":"Patient","id":"p/1"}`, "Patient", ""},
		{"coverage by beneficiary", `{"resourceType":"Coverage","id":"c","beneficiary":{"reference":"Patient/p-1"},"subscriber":{"reference":"Patient/p-2"}}`, "Coverage", "p-1"},
		{"coverage policy holder only", `{"resourceType":"Coverage","id":"c","policyHolder":{"reference":"Patient/p-1"}}`, "Coverage", ""},
		{"eob by patient", `{"resourceType":"ExplanationOfBenefit","id":"e","patient":{"reference":"Patient/p-1"}}`, "ExplanationOfBenefit", "p-1"},
		{"absolute reference", `{"resourceType":"ExplanationOfBenefit","id":"e","patient":{"reference":"http://x/Patient/p-1"}}`, "ExplanationOfBenefit", ""},
		{"other type", `{"resourceType":"ExplanationOfBenefit","id":"e","patient":{"reference":"Group/p-1"}}`, "ExplanationOfBenefit", ""},
		{"shared", `{"resourceType":"Organization","id":"o","patient":{"reference":"Patient/p-1"}}`, "Organization", ""},
		{"unknown type", `{"resourceType":"Basic","id":"b","subject":{"reference":"Patient/p-1"}}`, "Basic", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Inspect([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if f.Type != tc.wantType || f.Patient != tc.wantPatient {
				t.Errorf("Inspect = %+v, want type %s patient %q", f, tc.wantType, tc.wantPatient)
			}
		})
	}
	if _, err := Inspect([]byte(`{"resourceType":"Patient","id":`)); err == nil {
		t.Error("Inspect of broken JSON: want an error")
	}
}

func TestDecodeRefusesWrongShape(t *testing.T) {
	eob, _ := Lookup("ExplanationOfBenefit")
	if err := eob.Decode([]byte(`{"resourceType":"ExplanationOfBenefit","id":"e","patient":"Patient/1"}`)); err == nil {
		t.Error("Decode accepted a string where a Reference belongs")
	}
	if err := eob.Decode([]byte(`{"resourceType":"ExplanationOfBenefit","id":"e","patient":{"reference":"Patient/1"}}`)); err != nil {
		t.Errorf("Decode refused a well-shaped EOB: %v", err)
	}
}

func FuzzInspect(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Coverage","beneficiary":{"reference":"Patient/a"}}`))
	f.Add([]byte(`{"resourceType":"Patient","id":"a"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		facts, err := Inspect(raw)
		if err != nil {
			return
		}
		if facts.Patient != "" && !ValidID(facts.Patient) {
			t.Fatalf("owner %q is not a FHIR id", facts.Patient)
		}
		if typ, ok := Lookup(facts.Type); facts.Patient != "" && (!ok || typ.Kind != MemberData) {
			t.Fatalf("%s has an owner but is not member data", facts.Type)
		}
	})
}

// TestInspectReadsSecurityLabels: meta.security is what a plan marks
// sensitive records with; Inspect reads it with the rest.
func TestInspectReadsSecurityLabels(t *testing.T) {
	raw := `{"resourceType":"ExplanationOfBenefit","id":"e1","patient":{"reference":"Patient/p1"},
	"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"42CFRPart2","display":"42 CFR Part2"}]}}`
	f, err := Inspect([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := []Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "42CFRPart2"}}
	if !slices.Equal(f.Security, want) {
		t.Fatalf("Security = %v, want %v", f.Security, want)
	}
}

// TestEveryTypeHasACategory: the consent page offers categories, so a type
// without one could never be shared.
func TestEveryTypeHasACategory(t *testing.T) {
	for _, typ := range All() {
		if !slices.Contains(Categories(), typ.Category) {
			t.Errorf("%s: category %q is not one of %v", typ.Name, typ.Category, Categories())
		}
	}
}

func TestParseCoding(t *testing.T) {
	for in, ok := range map[string]bool{"http://a|X": true, " http://a|X ": true, "X": false, "|X": false, "http://a|": false, "a|b|c": false} {
		c, err := ParseCoding(in)
		if (err == nil) != ok {
			t.Errorf("ParseCoding(%q) = %v, %v", in, c, err)
		}
	}
}
