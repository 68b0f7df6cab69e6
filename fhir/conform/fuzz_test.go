package conform

import (
	"testing"
)

// FuzzBase: intake runs Base on every resource of an operator's files, so
// no input may panic it, and an input it handles yields issues that name
// a path.
func FuzzBase(f *testing.F) {
	v := validator(f)
	for _, name := range []string{"ExplanationOfBenefit-EOBPharmacy1.json", "Patient-Patient1.json", "Coverage-Coverage1.json", "Organization-Payer1.json"} {
		f.Add(v.Examples()[name])
	}
	f.Add([]byte(`{"resourceType":"ExplanationOfBenefit","item":[{"sequence":-1,"servicedDate":7}],"created":{"a":1}}`))
	f.Add([]byte(`{"resourceType":"Patient","name":"x","_birthDate":[],"deceasedBoolean":"yes"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		issues, _, err := v.Base(raw)
		if err != nil {
			return
		}
		for _, i := range issues {
			if i.Path == "" || i.Msg == "" {
				t.Fatalf("issue without path or message: %+v", i)
			}
		}
		if _, err := v.Validate(raw); err != nil {
			t.Fatalf("Base decoded it, Validate did not: %v", err)
		}
	})
}
