package fhir

import (
	"encoding/json"
	"strings"

	"github.com/patientaccess/gateway/fhir/access"
)

// compartmentFields holds only the fields that place a resource in a
// patient compartment (FHIR R4 CompartmentDefinition "patient").
type compartmentFields struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Beneficiary  struct {
		Reference string `json:"reference"`
	} `json:"beneficiary"`
	Patient struct {
		Reference string `json:"reference"`
	} `json:"patient"`
	Meta struct {
		VersionID   string `json:"versionId"`
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
}

// compartmentOwner reads, from raw bytes, the declared type of a resource
// and the patient whose compartment holds it: Patient by its id, Coverage
// by beneficiary.reference, ExplanationOfBenefit by patient.reference. Only
// a relative reference "Patient/<id>" counts; anything else, other types
// and malformed JSON give no owner.
func compartmentOwner(raw []byte) access.Resource {
	owner, _ := inspect(raw)
	return owner
}

// inspect decodes the few fields the server needs from a raw resource: its
// compartment owner, and its id and meta for links and headers.
func inspect(raw []byte) (access.Resource, compartmentFields) {
	var f compartmentFields
	if err := json.Unmarshal(raw, &f); err != nil {
		return access.Resource{}, compartmentFields{}
	}
	return owner(f), f
}

func owner(f compartmentFields) access.Resource {
	res := access.Resource{Type: f.ResourceType}
	switch f.ResourceType {
	case "Patient":
		if validID(f.ID) {
			res.Patient = f.ID
		}
	case "Coverage":
		res.Patient = referencedPatient(f.Beneficiary.Reference)
	case "ExplanationOfBenefit":
		res.Patient = referencedPatient(f.Patient.Reference)
	}
	return res
}

// inCompartment reports whether raw is a resourceType in patient's
// compartment.
func inCompartment(resourceType string, raw []byte, patient string) bool {
	return access.InCompartment(patient, resourceType, compartmentOwner(raw))
}

func referencedPatient(ref string) string {
	id, ok := strings.CutPrefix(ref, "Patient/")
	if !ok || !validID(id) {
		return ""
	}
	return id
}

// validID reports whether s matches the FHIR id syntax [A-Za-z0-9\-\.]{1,64}
// (FHIR R4 datatypes, "id").
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
