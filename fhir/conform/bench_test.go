package conform

import "testing"

// BenchmarkValidateEOB measures one profile check of HL7's inpatient EOB
// example.
func BenchmarkValidateEOB(b *testing.B) {
	v := validator(b)
	raw := v.Examples()["ExplanationOfBenefit-EOBInpatient1.json"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaseEOB measures the base FHIR check intake runs on every
// resource, on the same example.
func BenchmarkBaseEOB(b *testing.B) {
	v := validator(b)
	raw := v.Examples()["ExplanationOfBenefit-EOBInpatient1.json"]
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := v.Base(raw); err != nil {
			b.Fatal(err)
		}
	}
}
