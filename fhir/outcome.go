package fhir

import (
	"encoding/json"
	"net/http"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// contentType is the FHIR JSON media type (FHIR R4 http.html, "Content Types").
const contentType = "application/fhir+json"

// writeOutcome is the one place FHIR errors are rendered: an
// OperationOutcome with one error issue. code is a FHIR issue-type code
// (unknown codes become "exception"); diagnostics is safe for the client
// and may be empty.
func writeOutcome(w http.ResponseWriter, status int, code, diagnostics string) {
	var issueType models.IssueType
	if err := issueType.UnmarshalJSON([]byte(`"` + code + `"`)); err != nil {
		issueType = models.IssueTypeException
	}
	issue := models.OperationOutcomeIssue{Severity: models.IssueSeverityError, Code: issueType}
	if diagnostics != "" {
		issue.Diagnostics = &diagnostics
	}
	body, err := json.Marshal(models.OperationOutcome{Issue: []models.OperationOutcomeIssue{issue}})
	if err != nil {
		body = []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
