package fhir

import (
	"net/http"
	"net/http/httptest"
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
	perSearch, _ := allocatedPer(20, func() { e.get("alice", target) })
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

// TestSearchPageBufferReused: the buffer a page is written into is used
// again by the next search, so a search served to a client (whose
// connection copies the body out, as the discarding writer here does)
// allocates far less than its page, not the page again each time.
func TestSearchPageBufferReused(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector a sync.Pool drops what it is given at random")
	}
	e := newTestEnv(t)
	target := "/fhir/ExplanationOfBenefit?patient=" + e.alice.PatientID + "&_count=50"
	search := func() int {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Authorization", "Bearer alice")
		w := &discardWriter{header: http.Header{}}
		e.mux.ServeHTTP(w, r)
		if w.code != 0 && w.code != http.StatusOK {
			t.Fatalf("search: %d", w.code)
		}
		return w.n
	}
	body := search()
	perSearch, _ := allocatedPer(20, func() { search() })
	t.Logf("%d-byte body, %d bytes allocated per search", body, perSearch)
	limit := body / 2 // the request, the checks and the audit event, not the page
	if perSearch > limit {
		t.Fatalf("a search with a %d-byte body allocated %d bytes, over %d: its page's buffer is not used again", body, perSearch, limit)
	}
}

// allocatedPer runs f n times and returns the bytes and the allocations
// it made per run, on average.
func allocatedPer(n int, f func()) (bytes, allocs int) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		f()
	}
	runtime.ReadMemStats(&after)
	return int(after.TotalAlloc-before.TotalAlloc) / n, int(after.Mallocs-before.Mallocs) / n
}

// discardWriter is a ResponseWriter that counts what it is sent.
type discardWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }
