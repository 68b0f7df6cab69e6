package smart

import "testing"

func TestDescribe(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"patient/ExplanationOfBenefit.rs", "Read and search your claims (explanations of benefit)"},
		{"patient/ExplanationOfBenefit.read", "Read and search your claims (explanations of benefit)"},
		{"patient/*.read", "Read and search all of your health plan records"},
		{"patient/*.rs", "Read and search all of your health plan records"},
		{"patient/Coverage.read", "Read and search your insurance coverage"},
		{"patient/Coverage.r", "Read your insurance coverage"},
		{"patient/Coverage.s", "Search your insurance coverage"},
		{"patient/Patient.rs", "Read your basic details (name, birth date, contact information)"},
		{"patient/Patient.read", "Read your basic details (name, birth date, contact information)"},
		{"patient/Patient.s", "Read your basic details (name, birth date, contact information)"},
		{"user/Patient.rs", "Read and search basic details (name, birth date, contact information) you can see"},
		{"patient/Immunization.cud", "Add to, change and delete your immunizations"},
		{"patient/Immunization.write", "Add to, change and delete your immunizations"},
		{"patient/Condition.cruds", "Read, search, add to, change and delete your conditions and diagnoses"},
		{"patient/Observation.rs?category=lab", "Read and search your test results and measurements (only category=lab)"},
		{"patient/Observation.rs?code=x&category=lab", "Read and search your test results and measurements (only category=lab, code=x)"},
		{"patient/DeviceRequest.rs", "Read and search your DeviceRequest records"},
		{"system/*.read", "Read and search any health plan records"},
		{"openid", "Know who you are (your name and member record link)"},
		{"fhirUser", "Know who you are (your name and member record link)"},
		{"offline_access", "Keep access when you are not using the app, until you revoke it"},
		{"online_access", "Keep access while you are using the app"},
		{"launch/patient", "Know which member record you chose"},
		{"launch/encounter", "Know which visit you chose"},
		{"profile", "See your name"},
		{"patient/Bad.x", "Unrecognised permission: patient/Bad.x"},
		{"com.example/x", "Other permission: com.example/x"},
	}
	for _, tc := range tests {
		if got := Describe(tc.raw, testLabels); got != tc.want {
			t.Errorf("Describe(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// testLabels are the words a FHIR catalog would pass in.
func testLabels(t string) string {
	return map[string]string{
		"ExplanationOfBenefit": "claims (explanations of benefit)",
		"Coverage":             "insurance coverage",
		"Patient":              "basic details (name, birth date, contact information)",
		"Immunization":         "immunizations",
		"Condition":            "conditions and diagnoses",
		"Observation":          "test results and measurements",
	}[t]
}

func TestDescribeWithoutLabels(t *testing.T) {
	if got := Describe("patient/Coverage.rs", nil); got != "Read and search your Coverage records" {
		t.Errorf("Describe without labels = %q", got)
	}
	if got := Describe("patient/*.rs", nil); got != "Read and search all of your health plan records" {
		t.Errorf("Describe of * without labels = %q", got)
	}
}

func TestCategory(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"patient/*.read", "*"},
		{"patient/Coverage.rs", "Coverage"},
		{"patient/Coverage.read", "Coverage"},
		{"patient/Observation.rs?category=lab", "Observation"},
		{"openid", "openid"},
		{"launch/patient", "launch/patient"},
		{"patient/Bad.x", "patient/Bad.x"},
	}
	for _, tc := range tests {
		if got := Category(tc.raw); got != tc.want {
			t.Errorf("Category(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}
