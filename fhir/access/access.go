package access

import (
	"net/http"

	"github.com/patientaccess/gateway/oauth/smart"
)

// Outcome is the audit outcome of a decision.
type Outcome string

// The audit outcomes.
const (
	Success  Outcome = "success"
	Denied   Outcome = "denied"
	NotFound Outcome = "not-found"
)

// Issue is the OperationOutcome issue type a refusal is rendered with
// (http://hl7.org/fhir/issue-type).
type Issue string

// The issue types a decision may carry.
const (
	IssueLogin        Issue = "login"
	IssueForbidden    Issue = "forbidden"
	IssueNotSupported Issue = "not-supported"
	IssueNotFound     Issue = "not-found"
)

// Request is what the decision needs, gathered by the caller.
type Request struct {
	// Authenticated is true when a valid, active bearer token was presented.
	Authenticated bool
	// Patient is the Patient id the token is limited to ("" if none).
	Patient string
	// Scopes are the token's granted scopes.
	Scopes []string
	// ResourceType is the type the request names in its path.
	ResourceType string
	// Supported is true when the server serves ResourceType.
	Supported bool
	// Interaction is smart.Read for read and smart.Search for search-type.
	Interaction smart.Interaction
	// Resource is the fetched resource for a read, nil before the fetch.
	Resource *Resource
}

// Resource is the part of a fetched resource the compartment rule needs.
type Resource struct {
	Type string
	// Patient is the Patient id whose compartment holds the resource, as
	// read from the resource itself ("" if it names none we understand).
	Patient string
}

// Decision is the answer: allowed or not, the HTTP status and issue type to
// render a refusal with, a message safe to show the client, and the audit
// outcome and reason.
type Decision struct {
	Allowed bool
	Status  int
	Issue   Issue
	Outcome Outcome
	// Reason says why, for the audit trail and logs; it never carries ids.
	Reason string
	// Message is safe to show the client: it never reveals whether a
	// resource outside the caller's compartment exists.
	Message string
}

// Decide applies the rules in order and returns the first refusal, or an
// allowance when every rule passes:
//
//  1. a valid bearer token is required (401);
//  2. the resource type must be one the server serves (404 not-supported);
//  3. the token must carry a patient context (403);
//  4. a patient/ scope must permit the interaction on the type (403);
//  5. a fetched resource must be of the requested type and in the token's
//     patient compartment, else 404 exactly as if it did not exist, so ids
//     of other members are not revealed.
func Decide(r Request) Decision {
	switch {
	case !r.Authenticated:
		return deny(http.StatusUnauthorized, IssueLogin, Denied, "no valid bearer token", "A valid bearer token is required.")
	case !r.Supported:
		return deny(http.StatusNotFound, IssueNotSupported, NotFound, "resource type not supported", "This server does not serve that resource type.")
	case r.Patient == "":
		return deny(http.StatusForbidden, IssueForbidden, Denied, "token has no patient context", "The token is not limited to a patient.")
	case r.Interaction != smart.Read && r.Interaction != smart.Search:
		return deny(http.StatusForbidden, IssueForbidden, Denied, "interaction not allowed", "This interaction is not allowed.")
	case !smart.Permits(r.Scopes, smart.ContextPatient, r.ResourceType, r.Interaction):
		return deny(http.StatusForbidden, IssueForbidden, Denied, "scope does not cover the request", "The granted scopes do not allow this request.")
	case r.Resource != nil && !InCompartment(r.Patient, r.ResourceType, *r.Resource):
		return deny(http.StatusNotFound, IssueNotFound, Denied, "resource outside the patient compartment", notFoundMessage)
	}
	return Decision{Allowed: true, Status: http.StatusOK, Outcome: Success}
}

// notFoundMessage is shared by missing resources and resources outside the
// compartment, so the two answers are identical.
const notFoundMessage = "Resource not found."

// Missing is the decision for a read of a resource that does not exist. It
// renders exactly like a resource outside the compartment.
func Missing() Decision {
	return deny(http.StatusNotFound, IssueNotFound, NotFound, "resource not found", notFoundMessage)
}

// InCompartment reports whether res, returned for a request on wantType, is
// of that type and belongs to patient's compartment. An empty patient or an
// unknown owner is never in it.
func InCompartment(patient, wantType string, res Resource) bool {
	return patient != "" && res.Type == wantType && res.Patient == patient
}

func deny(status int, issue Issue, outcome Outcome, reason, message string) Decision {
	return Decision{Status: status, Issue: issue, Outcome: outcome, Reason: reason, Message: message}
}
