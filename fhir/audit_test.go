package fhir

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestNothingServedWithoutAuditRecord: a read or search whose audit event
// cannot be recorded answers 503 with Retry-After and an OperationOutcome,
// and no resource, no ETag; a refusal is still answered as a refusal.
func TestNothingServedWithoutAuditRecord(t *testing.T) {
	e := newTestEnv(t)
	e.audit.err = errors.New("audit store down")
	for _, target := range []string{"/fhir/Patient/" + e.alice.PatientID, "/fhir/ExplanationOfBenefit?patient=" + e.alice.PatientID} {
		w := e.get("alice", target)
		body := w.Body.String()
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(body, `"transient"`) {
			t.Errorf("GET %s with the audit failing: %d Retry-After=%q %s, want 503 transient", target, w.Code, w.Header().Get("Retry-After"), body)
		}
		if strings.Contains(body, e.alice.PatientID) || w.Header().Get("ETag") != "" {
			t.Errorf("GET %s with the audit failing disclosed data: %v %s", target, w.Header(), body)
		}
	}
	if w := e.get("alice", "/fhir/Patient/"+e.bob.PatientID); w.Code != http.StatusNotFound {
		t.Errorf("another member's Patient with the audit failing: %d, want 404", w.Code)
	}
}
