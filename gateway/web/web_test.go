package web

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })

func TestHeaders(t *testing.T) {
	for _, https := range []bool{false, true} {
		rec := httptest.NewRecorder()
		(&Headers{HTTPS: https}).Wrap(ok).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		h := rec.Header()
		if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("https=%v: headers %v", https, h)
		}
		if (h.Get("Strict-Transport-Security") != "") != https {
			t.Errorf("https=%v: HSTS %q", https, h.Get("Strict-Transport-Security"))
		}
	}
}

// csrfForm fetches a token as a browser would, then posts it back.
func TestCSRF(t *testing.T) {
	c := &CSRF{Key: bytes.Repeat([]byte("k"), 32)}
	rec := httptest.NewRecorder()
	token := c.Token(rec, httptest.NewRequest("GET", "/form", nil))
	cookie := rec.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie flags: %+v", cookie)
	}
	post := func(field string, withCookie bool, site string) *http.Request {
		r := httptest.NewRequest("POST", "/form", strings.NewReader(url.Values{FieldName: {field}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withCookie {
			r.AddCookie(cookie)
		}
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		return r
	}
	tests := []struct {
		name string
		req  *http.Request
		want error
	}{
		{"valid", post(token, true, "same-origin"), nil},
		{"no field", post("", true, ""), ErrCSRFMissing},
		{"no cookie", post(token, false, ""), ErrCSRFMissing},
		{"forged", post(token[:len(token)-2]+"AA", true, ""), ErrCSRFMismatch},
		{"cross-site", post(token, true, "cross-site"), ErrCrossSiteForm},
	}
	for _, tc := range tests {
		if err := c.Verify(tc.req); err != tc.want {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
	other := &CSRF{Key: bytes.Repeat([]byte("x"), 32)}
	if err := other.Verify(post(token, true, "")); err != ErrCSRFMismatch {
		t.Errorf("token signed under another key accepted: %v", err)
	}
	rec = httptest.NewRecorder()
	c.Protect(ok).ServeHTTP(rec, post("", true, ""))
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "expired") {
		t.Errorf("Protect let a tokenless post through: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	c.Protect(ok).ServeHTTP(rec, post(token, true, ""))
	if rec.Code != 200 {
		t.Errorf("Protect refused a valid post: %d", rec.Code)
	}
}

func TestCORS(t *testing.T) {
	c := &CORS{AllowedOrigin: func(_ context.Context, o string) bool { return o == "https://app.example" }}
	h := c.Wrap(ok)
	tests := []struct {
		name, method, origin string
		preflight            bool
		wantStatus           int
		wantACAO             string
	}{
		{"preflight allowed", "OPTIONS", "https://app.example", true, 204, "https://app.example"},
		{"preflight refused", "OPTIONS", "https://evil.example", true, 403, ""},
		{"simple allowed", "GET", "https://app.example", false, 200, "https://app.example"},
		{"simple refused passes without headers", "GET", "https://evil.example", false, 200, ""},
		{"no origin", "GET", "", false, 200, ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, "/fhir/Patient", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.preflight {
			r.Header.Set("Access-Control-Request-Method", "GET")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.wantStatus || rec.Header().Get("Access-Control-Allow-Origin") != tc.wantACAO {
			t.Errorf("%s: %d ACAO=%q", tc.name, rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
		}
		if rec.Header().Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: credentials allowed", tc.name)
		}
	}
}

func TestOriginOf(t *testing.T) {
	tests := map[string]string{
		"https://App.Example/cb?x=1": "https://app.example",
		"https://app.example:443/cb": "https://app.example",
		"http://127.0.0.1:9000/cb":   "http://127.0.0.1:9000",
		"http://[::1]:80/cb":         "http://[::1]",
		"com.example.app:/cb":        "",
		"javascript:alert(1)":        "",
	}
	for in, want := range tests {
		got, _ := OriginOf(in)
		if got != want {
			t.Errorf("OriginOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRequestID(t *testing.T) {
	var seen string
	h := RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = RequestIDFrom(r.Context()) }))
	for in, keep := range map[string]bool{"abc-123": true, "": false, "bad id\n": false, strings.Repeat("a", 65): false} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Request-Id", in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if seen == "" || rec.Header().Get("X-Request-Id") != seen || (seen == in) != keep {
			t.Errorf("id %q: context %q, header %q", in, seen, rec.Header().Get("X-Request-Id"))
		}
	}
}

func TestLogsRedactSecretsAndIDs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil)))
	logger.With("client_secret", "s3cr3t").Info("x", "token", "tok-123", slog.Group("req", "Authorization", "Bearer abc", "path", "/x"), "code", "c0de")
	h := RequestID(AccessLog(logger, ok))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/fhir/Patient/alice-id?code=c0de2", nil))
	out := buf.String()
	for _, secret := range []string{"s3cr3t", "tok-123", "Bearer abc", "c0de", "alice-id"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, `"path":"/fhir/Patient/{id}"`) || !strings.Contains(out, "request_id") {
		t.Errorf("access log lacks the safe path or request id:\n%s", out)
	}
}

func TestSafePath(t *testing.T) {
	for in, want := range map[string]string{
		"/fhir/Patient/123":            "/fhir/Patient/{id}",
		"/fhir/ExplanationOfBenefit":   "/fhir/ExplanationOfBenefit",
		"/fhir/Coverage/_search":       "/fhir/Coverage/_search",
		"/account/apps/grant-1/revoke": "/account/apps/{grant}/revoke",
		"/oauth/token":                 "/oauth/token",
	} {
		if got := SafePath(in); got != want {
			t.Errorf("SafePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorPageEscapes(t *testing.T) {
	rec := httptest.NewRecorder()
	Error(rec, httptest.NewRequest("GET", "/", nil), 400, "Bad <b>", "<script>x</script>")
	if rec.Code != 400 || strings.Contains(rec.Body.String(), "<script>") || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("error page: %d %s", rec.Code, rec.Body.String())
	}
}
