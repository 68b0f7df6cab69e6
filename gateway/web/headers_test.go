package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// ok is the handler behind the middleware under test.
var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })

func TestHeaders(t *testing.T) {
	tests := []struct {
		name     string
		https    bool
		wantHSTS bool
	}{
		{"plain http", false, false},
		{"https", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			(&Headers{HTTPS: tc.https}).Wrap(ok).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			h := rec.Header()
			want := map[string]string{
				"X-Frame-Options":        "DENY",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
			}
			for k, v := range want {
				if h.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, h.Get(k), v)
				}
			}
			csp := h.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			if strings.Contains(csp, "form-action") {
				t.Errorf("CSP %q restricts form-action: the consent redirect to the app would break", csp)
			}
			if got := h.Get("Strict-Transport-Security") != ""; got != tc.wantHSTS {
				t.Errorf("HSTS present = %v, want %v", got, tc.wantHSTS)
			}
		})
	}
}
