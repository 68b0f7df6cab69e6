package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCORS(t *testing.T) {
	c := &CORS{AllowedOrigin: func(_ context.Context, o string) bool { return o == "https://app.example" }}
	tests := []struct {
		name, method, origin string
		preflight            bool
		wantStatus           int
		wantACAO             string
		wantBody             bool // the handler behind ran
	}{
		{"preflight allowed", "OPTIONS", "https://app.example", true, 204, "https://app.example", false},
		{"preflight refused", "OPTIONS", "https://evil.example", true, 403, "", false},
		{"preflight from a look-alike origin", "OPTIONS", "https://app.example.evil", true, 403, "", false},
		{"plain OPTIONS is not a preflight", "OPTIONS", "https://app.example", false, 200, "https://app.example", true},
		{"simple allowed", "GET", "https://app.example", false, 200, "https://app.example", true},
		{"POST allowed", "POST", "https://app.example", false, 200, "https://app.example", true},
		{"simple refused passes without headers", "GET", "https://evil.example", false, 200, "", true},
		{"null origin refused", "GET", "null", false, 200, "", true},
		{"no origin", "GET", "", false, 200, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/fhir/Patient", nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.preflight {
				r.Header.Set("Access-Control-Request-Method", "GET")
				r.Header.Set("Access-Control-Request-Headers", "authorization")
			}
			rec := httptest.NewRecorder()
			c.Wrap(ok).ServeHTTP(rec, r)
			h := rec.Header()
			if rec.Code != tc.wantStatus || h.Get("Access-Control-Allow-Origin") != tc.wantACAO {
				t.Errorf("status %d ACAO %q, want %d %q", rec.Code, h.Get("Access-Control-Allow-Origin"), tc.wantStatus, tc.wantACAO)
			}
			if (rec.Body.String() == "ok") != tc.wantBody {
				t.Errorf("handler ran = %v, want %v", rec.Body.String() == "ok", tc.wantBody)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials allowed")
			}
			if h.Get("Vary") != "Origin" {
				t.Errorf("Vary = %q, want Origin", h.Get("Vary"))
			}
			if tc.wantACAO == "" {
				for k := range h {
					if strings.HasPrefix(k, "Access-Control-") {
						t.Errorf("refused origin got %s", k)
					}
				}
			}
		})
	}
}

func TestCORSPreflightHeaders(t *testing.T) {
	tests := []struct {
		name                    string
		cors                    CORS
		wantHeaders, wantMaxAge string
		wantExpose              string
	}{
		{"defaults", CORS{}, "Authorization, Content-Type, Accept", "600", "Location, ETag"},
		{"configured", CORS{AllowHeaders: []string{"Authorization", "X-Custom"}, ExposeHeaders: []string{"X-Request-Id"}, MaxAge: time.Hour},
			"Authorization, X-Custom", "3600", "X-Request-Id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cors.AllowedOrigin = func(context.Context, string) bool { return true }
			r := httptest.NewRequest("OPTIONS", "/fhir/Patient", nil)
			r.Header.Set("Origin", "https://app.example")
			r.Header.Set("Access-Control-Request-Method", "POST")
			rec := httptest.NewRecorder()
			tc.cors.Wrap(ok).ServeHTTP(rec, r)
			h := rec.Header()
			if h.Get("Access-Control-Allow-Methods") != "GET, POST, OPTIONS" ||
				!strings.HasPrefix(h.Get("Access-Control-Allow-Headers"), tc.wantHeaders) ||
				h.Get("Access-Control-Max-Age") != tc.wantMaxAge {
				t.Errorf("preflight headers %v", h)
			}
			r = httptest.NewRequest("GET", "/fhir/Patient", nil)
			r.Header.Set("Origin", "https://app.example")
			rec = httptest.NewRecorder()
			tc.cors.Wrap(ok).ServeHTTP(rec, r)
			if !strings.HasPrefix(rec.Header().Get("Access-Control-Expose-Headers"), tc.wantExpose) {
				t.Errorf("Expose-Headers %q, want prefix %q", rec.Header().Get("Access-Control-Expose-Headers"), tc.wantExpose)
			}
		})
	}
}

func TestOriginOf(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://App.Example/cb?x=1", "https://app.example", true},
		{"HTTPS://app.example:443/cb", "https://app.example", true},
		{"https://app.example:8443/cb", "https://app.example:8443", true},
		{"http://app.example:80", "http://app.example", true},
		{"http://app.example:443/", "http://app.example:443", true},
		{"http://127.0.0.1:9000/cb", "http://127.0.0.1:9000", true},
		{"http://[::1]:80/cb", "http://[::1]", true},
		{"https://user:pw@app.example/cb", "https://app.example", true},
		{"com.example.app:/cb", "", false},
		{"javascript:alert(1)", "", false},
		{"/relative/cb", "", false},
		{"https:///nohost", "", false},
		{"https://:443/", "", false},
		{"ht tp://x", "", false},
	}
	for _, tc := range tests {
		got, ok := OriginOf(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("OriginOf(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPublicCORS(t *testing.T) {
	for _, tc := range []struct {
		name, method, origin string
		preflight            bool
		wantStatus           int
		wantBody             bool
	}{
		{"any origin reads", "GET", "https://anyone.example", false, 200, true},
		{"null origin reads", "GET", "null", false, 200, true},
		{"no origin", "GET", "", false, 200, true},
		{"preflight from any origin", "OPTIONS", "https://anyone.example", true, 204, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/.well-known/openid-configuration", nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.preflight {
				r.Header.Set("Access-Control-Request-Method", "GET")
			}
			rec := httptest.NewRecorder()
			PublicCORS(ok).ServeHTTP(rec, r)
			h := rec.Header()
			if rec.Code != tc.wantStatus || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("status %d ACAO %q ACAC %q, want %d, * and no credentials", rec.Code, h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials"), tc.wantStatus)
			}
			if (rec.Body.String() == "ok") != tc.wantBody {
				t.Errorf("handler ran = %v, want %v", rec.Body.String() == "ok", tc.wantBody)
			}
		})
	}
}
