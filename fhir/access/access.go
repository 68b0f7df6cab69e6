package access

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/patientaccess/gateway/oauth/smart"
)

// Request is what a FHIR call asks for, with what its token allows.
type Request struct {
	Patient      string   // the token's patient context; empty means none
	Scopes       []string // the granted scopes, raw
	ResourceType string
	Interaction  smart.Interaction
}

// Decision is the outcome of Decide. When Allowed is false, Status is the
// HTTP status to answer with and Code the OperationOutcome issue code;
// Reason is for the audit trail and the OperationOutcome diagnostics and
// never carries resource content.
type Decision struct {
	Allowed bool
	Status  int
	Code    string
	Reason  string
}

// Supported reports whether resourceType is one the gateway serves.
func Supported(resourceType string) bool {
	switch resourceType {
	case "Patient", "Coverage", "ExplanationOfBenefit":
		return true
	}
	return false
}

// Decide allows r only if the type is served, the interaction is read or
// search, the token has a patient context, and one of its scopes permits
// the interaction on the type in patient context. Everything else is denied.
func Decide(r Request) Decision {
	switch {
	case !Supported(r.ResourceType):
		return deny(http.StatusNotFound, "not-supported", "resource type not supported")
	case r.Interaction != smart.Read && r.Interaction != smart.Search:
		return deny(http.StatusMethodNotAllowed, "not-supported", "interaction not supported")
	case r.Patient == "":
		return deny(http.StatusForbidden, "forbidden", "token has no patient context")
	case !smart.Permits(r.Scopes, smart.ContextPatient, r.ResourceType, r.Interaction):
		return deny(http.StatusForbidden, "forbidden", "granted scopes do not permit this interaction")
	}
	return Decision{Allowed: true, Status: http.StatusOK}
}

func deny(status int, code, reason string) Decision {
	return Decision{Status: status, Code: code, Reason: reason}
}

// compartmentFields holds only the fields that place a resource in a
// patient compartment.
type compartmentFields struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Beneficiary  struct {
		Reference string `json:"reference"`
	} `json:"beneficiary"`
	Patient struct {
		Reference string `json:"reference"`
	} `json:"patient"`
}

// Owner returns the id of the patient whose compartment raw belongs to, or
// "" when it belongs to none: Patient by its id, Coverage by
// beneficiary.reference, ExplanationOfBenefit by patient.reference. The
// declared resourceType must equal resourceType, and only a relative
// reference "Patient/<id>" counts.
func Owner(resourceType string, raw []byte) string {
	var f compartmentFields
	if err := json.Unmarshal(raw, &f); err != nil || f.ResourceType != resourceType {
		return ""
	}
	switch resourceType {
	case "Patient":
		if ValidID(f.ID) {
			return f.ID
		}
	case "Coverage":
		return referencedPatient(f.Beneficiary.Reference)
	case "ExplanationOfBenefit":
		return referencedPatient(f.Patient.Reference)
	}
	return ""
}

// InCompartment reports whether raw, a resource of resourceType, belongs to
// patient's compartment. Any other type, malformed JSON or an empty
// patient gives false.
func InCompartment(resourceType string, raw []byte, patient string) bool {
	return patient != "" && Owner(resourceType, raw) == patient
}

func referencedPatient(ref string) string {
	id, ok := strings.CutPrefix(ref, "Patient/")
	if !ok || !ValidID(id) {
		return ""
	}
	return id
}

// ValidID reports whether s matches the FHIR id syntax
// [A-Za-z0-9\-\.]{1,64} (FHIR R4 datatypes, "id").
func ValidID(s string) bool {
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
