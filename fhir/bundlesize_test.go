package fhir

import (
	"net/http"
	"runtime"
	"testing"
)

// TestSearchsetBuiltInOneBuffer: a search page's Bundle is written into a
// buffer sized for it up front, so answering a search allocates about the
// body once, not a buffer doubled again and again as it grows (2.6 times
// the body before).
func TestSearchsetBuiltInOneBuffer(t *testing.T) {
	e := newTestEnv(t)
	target := "/fhir/ExplanationOfBenefit?patient=" + e.alice.PatientID + "&_count=50"
	w := e.get("alice", target)
	if w.Code != http.StatusOK {
		t.Fatalf("search: %d", w.Code)
	}
	body := w.Body.Len()
	var before, after runtime.MemStats
	const searches = 20
	runtime.ReadMemStats(&before)
	for range searches {
		e.get("alice", target)
	}
	runtime.ReadMemStats(&after)
	perSearch := int(after.TotalAlloc-before.TotalAlloc) / searches
	// The recorder keeps its own copy of the body: about 2x the body, plus
	// the request, the checks and the audit event.
	limit := 2*body + body/2 + 16<<10
	if raceEnabled {
		limit *= 2
	}
	if perSearch > limit {
		t.Fatalf("a search with a %d-byte body allocated %d bytes, over %d", body, perSearch, limit)
	}
	t.Logf("%d-byte body, %d bytes allocated per search", body, perSearch)
}
