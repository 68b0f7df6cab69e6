package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"well-formed id kept", "abc-123-XYZ", true},
		{"64 characters kept", strings.Repeat("a", 64), true},
		{"absent", "", false},
		{"65 characters", strings.Repeat("a", 65), false},
		{"space", "bad id", false},
		{"newline (log injection)", "abc\nlevel=ERROR", false},
		{"underscore", "a_b", false},
		{"non-ASCII", "abcé", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			h := RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = RequestIDFrom(r.Context()) }))
			r := httptest.NewRequest("GET", "/", nil)
			if tc.in != "" {
				r.Header.Set("X-Request-Id", tc.in)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if seen == "" || rec.Header().Get("X-Request-Id") != seen {
				t.Fatalf("context %q, header %q", seen, rec.Header().Get("X-Request-Id"))
			}
			if (seen == tc.in) != tc.keep {
				t.Errorf("id %q became %q, keep = %v", tc.in, seen, tc.keep)
			}
			if !tc.keep && !validID(seen) {
				t.Errorf("generated id %q is not well-formed", seen)
			}
		})
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	seen := map[string]bool{}
	h := RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen[RequestIDFrom(r.Context())] = true }))
	for range 100 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	if len(seen) != 100 {
		t.Errorf("100 requests got %d distinct ids", len(seen))
	}
	if id := RequestIDFrom(httptest.NewRequest("GET", "/", nil).Context()); id != "" {
		t.Errorf("RequestIDFrom without middleware = %q", id)
	}
}

// TestRequestIDDeadline: the one step gives the request its id, as
// RequestID does, and the deadline Deadline would; the deadline's context
// ends when the handler returns. Without a duration there is no deadline.
func TestRequestIDDeadline(t *testing.T) {
	for _, d := range []time.Duration{0, time.Minute} {
		var (
			id       string
			deadline time.Time
			hasDL    bool
			ctx      context.Context
		)
		h := RequestIDDeadline(d, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			ctx = r.Context()
			id = RequestIDFrom(ctx)
			deadline, hasDL = ctx.Deadline()
		}))
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if id == "" || rec.Header().Get("X-Request-Id") != id {
			t.Errorf("d=%v: id %q in the context, %q in the header", d, id, rec.Header().Get("X-Request-Id"))
		}
		switch {
		case d == 0 && hasDL:
			t.Errorf("no duration: deadline %v", deadline)
		case d > 0 && (!hasDL || deadline.Before(start.Add(d)) || deadline.After(time.Now().Add(d))):
			t.Errorf("deadline %v (set: %v), want %v from the start", deadline, hasDL, d)
		case d > 0 && ctx.Err() == nil:
			t.Error("the deadline's context outlives the request")
		}
	}
}
