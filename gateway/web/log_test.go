package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// secretValuer resolves to a group holding a secret, as a LogValuer may.
type secretValuer struct{}

func (secretValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("password", "pw-valuer"), slog.String("user", "kept-user"))
}

func TestRedactingHandler(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		gone []string // must not appear
		kept []string // must appear
	}{
		{"top-level keys", func(l *slog.Logger) {
			l.Info("x", "token", "v-token", "access_token", "v-at", "refresh_token", "v-rt", "id_token", "v-idt",
				"code", "v-code", "client_secret", "v-cs", "password", "v-pw", "secret", "v-secret", "path", "/kept")
		}, []string{"v-token", "v-at", "v-rt", "v-idt", "v-code", "v-cs", "v-pw", "v-secret"}, []string{"/kept", Redacted}},
		{"case-insensitive", func(l *slog.Logger) {
			l.Info("x", "Authorization", "Bearer v-auth", "COOKIE", "sid=v-cookie", "Client_Secret", "v-cs2")
		}, []string{"v-auth", "v-cookie", "v-cs2"}, nil},
		{"inside groups", func(l *slog.Logger) {
			l.Info("x", slog.Group("req", "method", "POST", slog.Group("form", "code", "v-nested", "scope", "patient/*.read")))
		}, []string{"v-nested"}, []string{"POST", "patient/*.read"}},
		{"With attrs", func(l *slog.Logger) {
			l.With("client_secret", "v-with").WithGroup("g").Info("x", "password", "v-group")
		}, []string{"v-with", "v-group"}, nil},
		{"LogValuer resolved first", func(l *slog.Logger) {
			l.Info("x", "member", secretValuer{})
		}, []string{"pw-valuer"}, []string{"kept-user"}},
		{"headers and form values", func(l *slog.Logger) {
			h := http.Header{"Authorization": {"Bearer v-hdr"}, "Accept": {"application/fhir+json"}}
			f := url.Values{"code": {"v-form"}, "grant_type": {"authorization_code"}}
			l.Info("x", "headers", h, "form", f)
		}, []string{"v-hdr", "v-form"}, []string{"application/fhir+json", "authorization_code"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil))))
			out := buf.String()
			for _, s := range tc.gone {
				if strings.Contains(out, s) {
					t.Errorf("log contains %q:\n%s", s, out)
				}
			}
			for _, s := range tc.kept {
				if !strings.Contains(out, s) {
					t.Errorf("log lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

func TestRedactingHandlerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil)))
	h := RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "in handler")
		logger.InfoContext(r.Context(), "explicit", "request_id", "given")
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Request-Id", "req-42")
	h.ServeHTTP(httptest.NewRecorder(), r)
	logger.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{`"request_id":"req-42"`, `"request_id":"given"`, ""}
	for i, line := range lines {
		if want[i] != "" && strings.Count(line, `"request_id"`) != 1 || !strings.Contains(line, want[i]) {
			t.Errorf("line %d %s, want one %s", i, line, want[i])
		}
		if want[i] == "" && strings.Contains(line, "request_id") {
			t.Errorf("line %d has a request id without one in context: %s", i, line)
		}
	}
}

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name, target string
		handler      http.HandlerFunc
		wantPath     string
		wantStatus   float64
	}{
		{"query dropped", "/oauth/authorize?code=v-code&state=v-state", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/x", http.StatusFound)
		}, "/oauth/authorize", 302},
		{"member id masked", "/fhir/Patient/alice-1001", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("{}"))
		}, "/fhir/Patient/{id}", 200},
		{"nothing written is 200", "/healthz", func(http.ResponseWriter, *http.Request) {}, "/healthz", 200},
		{"first status wins", "/x", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(404)
			w.WriteHeader(500)
		}, "/x", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&buf, nil)) // plain: AccessLog must not rely on redaction
			r := httptest.NewRequest("GET", tc.target, nil)
			RequestID(AccessLog(logger, tc.handler)).ServeHTTP(httptest.NewRecorder(), r)
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("one JSON line expected: %v\n%s", err, buf.String())
			}
			if line["path"] != tc.wantPath || line["status"] != tc.wantStatus || line["method"] != "GET" ||
				line["request_id"] == "" || line["request_id"] == nil || line["duration"] == nil {
				t.Errorf("access log %v", line)
			}
			for _, s := range []string{"v-code", "v-state", "alice-1001", "?"} {
				if strings.Contains(buf.String(), s) {
					t.Errorf("access log contains %q: %s", s, buf.String())
				}
			}
		})
	}
}

func TestSafePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/fhir/Patient/123", "/fhir/Patient/{id}"},
		{"/fhir/Patient/123/_history/2", "/fhir/Patient/{id}/_history/{id}"},
		{"/fhir/Patient/123/$everything", "/fhir/Patient/{id}/$everything"},
		{"/fhir/Patient/123/Coverage", "/fhir/Patient/{id}/Coverage"},
		{"/fhir/ExplanationOfBenefit", "/fhir/ExplanationOfBenefit"},
		{"/fhir/Coverage/_search", "/fhir/Coverage/_search"},
		{"/fhir/metadata", "/fhir/metadata"},
		{"/fhir/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"},
		{"/account/apps/client-1/revoke", "/account/apps/{app}/revoke"},
		{"/oauth/token", "/oauth/token"},
		{"/", "/"},
	}
	for _, tc := range tests {
		if got := SafePath(tc.in); got != tc.want {
			t.Errorf("SafePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// safePathBySplit is SafePath as it was first written (split, mask,
// join): the reference SafePath's one-allocation form must agree with.
func safePathBySplit(p string) string {
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case seg[0] == "fhir" && len(seg) > 2 && !strings.HasPrefix(seg[1], "."):
		for i := 2; i < len(seg); i += 2 {
			if !strings.HasPrefix(seg[i], "_") && !strings.HasPrefix(seg[i], "$") {
				seg[i] = "{id}"
			}
		}
	case seg[0] == "account" && len(seg) > 2:
		seg[2] = "{app}"
	}
	return "/" + strings.Join(seg, "/")
}

// TestSafePathAsSplit: SafePath masks every path as the split-and-join
// form did, odd ones included (empty segments, no leading slash, trailing
// slashes, dots), and allocates at most once.
func TestSafePathAsSplit(t *testing.T) {
	parts := []string{"", "fhir", "account", "apps", "Patient", "123", "_history", "$everything", ".well-known", "x", "_search", "."}
	var paths []string
	var build func(prefix string, depth int)
	build = func(prefix string, depth int) {
		paths = append(paths, prefix, "/"+prefix)
		if depth == 0 {
			return
		}
		for _, p := range parts {
			next := p
			if prefix != "" || depth < 5 {
				next = prefix + "/" + p
			}
			build(next, depth-1)
		}
	}
	build("", 4)
	for _, p := range paths {
		if got, want := SafePath(p), safePathBySplit(p); got != want {
			t.Fatalf("SafePath(%q) = %q, want %q", p, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = SafePath("/fhir/Patient/123/_history/2") }); n > 1 {
		t.Errorf("SafePath allocates %.0f times, want at most 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = SafePath("/oauth/token") }); n != 0 {
		t.Errorf("SafePath of a path with nothing to mask allocates %.0f times, want 0", n)
	}
}
