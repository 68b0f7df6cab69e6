package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestErrorPage(t *testing.T) {
	tests := []struct {
		name, method      string
		status            int
		title, message    string
		wantIn, wantNotIn []string
	}{
		{"escapes", "GET", 400, "Bad <b>", "<script>alert(1)</script>",
			[]string{"Bad &lt;b&gt;", "&lt;script&gt;", "Error 400"}, []string{"<script>", "<b>"}},
		{"readable", "GET", 404, "Page not found", "Check the address.",
			[]string{"<h1>Page not found</h1>", "Check the address.", `lang="en"`}, nil},
		{"HEAD has no body", "HEAD", 403, "Forbidden", "No.", nil, []string{"Forbidden"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				Error(w, r, tc.status, tc.title, tc.message)
			}))
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/", nil))
			body := rec.Body.String()
			if rec.Code != tc.status || rec.Header().Get("Cache-Control") != "no-store" ||
				rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("status %d headers %v", rec.Code, rec.Header())
			}
			for _, s := range tc.wantIn {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q:\n%s", s, body)
				}
			}
			if id := rec.Header().Get("X-Request-Id"); tc.method == "GET" && !strings.Contains(body, "reference "+id) {
				t.Errorf("page does not show request id %q", id)
			}
			for _, s := range tc.wantNotIn {
				if strings.Contains(body, s) {
					t.Errorf("page contains %q:\n%s", s, body)
				}
			}
		})
	}
}
