package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
