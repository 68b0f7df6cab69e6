package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/gateway"
)

// TestProfilerBehindAdminToken: Go's profiler is served only when turned
// on, and then only to the admin token.
func TestProfilerBehindAdminToken(t *testing.T) {
	get := func(h *harness, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", h.base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	off := newHarness(t, memoryStore)
	if code, _ := get(off, "/admin/debug/pprof/", adminToken); code != http.StatusNotFound {
		t.Errorf("profiler off by default: %d, want 404", code)
	}
	on := newHarnessWith(t, memoryStore, func(c *gateway.Config) { c.Pprof = true })
	tests := []struct {
		path, token string
		want        int
		body        string
	}{
		{"/admin/debug/pprof/", "", http.StatusUnauthorized, ""},
		{"/admin/debug/pprof/heap", "wrong-token-wrong-token", http.StatusUnauthorized, ""},
		{"/admin/debug/pprof/", adminToken, http.StatusOK, "goroutine"},
		{"/admin/debug/pprof/heap?debug=1", adminToken, http.StatusOK, "heap profile"},
		{"/admin/debug/pprof/cmdline", adminToken, http.StatusOK, ""},
	}
	for _, tt := range tests {
		code, body := get(on, tt.path, tt.token)
		if code != tt.want || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s (token %t): %d %.80q, want %d with %q", tt.path, tt.token != "", code, body, tt.want, tt.body)
		}
	}
}
