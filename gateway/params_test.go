package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway"
)

// countingStore counts app lookups: checking the client and its redirect
// URI reads the app once; fosite's authorization request reads it again,
// and only after that do the scope strategy and the rest run.
type countingStore struct {
	gateway.Store
	getApp atomic.Int64
}

func (c *countingStore) GetApp(ctx context.Context, id string) (apps.App, error) {
	c.getApp.Add(1)
	return c.Store.GetApp(ctx, id)
}

// withQueryParam returns the authorization URL u with name set to value, or
// with value added as a second occurrence when add is set.
func withQueryParam(u, name, value string, add bool) string {
	parsed, _ := url.Parse(u)
	q := parsed.Query()
	if add {
		q.Add(name, value)
	} else {
		q.Set(name, value)
	}
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// scopes returns n distinct scopes made from format.
func scopes(n int, format string) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf(format, i)
	}
	return strings.Join(s, " ")
}

// redirectError returns the error= of a redirect back to the app, or "".
func redirectError(t *testing.T, p page, state string) string {
	t.Helper()
	loc := p.header.Get("Location")
	if !strings.HasPrefix(loc, appRedirect) {
		return ""
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("state") != state {
		t.Fatalf("redirect %q does not carry state %q", loc, state)
	}
	return u.Query().Get("error")
}

// TestAuthorizeParameterLimits: an authorization request with too many
// scopes, too long a scope or parameter, or too long a query is refused
// before any costly work: a query over 8 KiB before even the app is read
// (an error page, since nothing is verified yet), anything else right
// after the app and its redirect URI are checked and before fosite reads
// the request (so before any scope strategy runs), with a redirect
// carrying invalid_scope or invalid_request.
func TestAuthorizeParameterLimits(t *testing.T) {
	store := &countingStore{Store: memoryStore(t)}
	h := newHarness(t, func(testing.TB) gateway.Store { return store })
	conf := h.registerApp(true, "approved")
	l := h.newLaunch(conf)
	tests := []struct {
		name       string
		param      string
		value      string
		wantError  string // error= in the redirect; "" means an error page
		wantStatus int    // of the error page
		wantReads  int64  // app reads before the refusal
	}{
		{"30,000 distinct scopes", "scope", scopes(30000, "patient/Type%d.read"), "", http.StatusRequestURITooLong, 0},
		{"1,500 short scopes within 8 KiB", "scope", scopes(1500, "s%d"), "invalid_scope", 0, 1},
		{"51 scopes", "scope", scopes(51, "patient/T%d.rs"), "invalid_scope", 0, 1},
		{"a scope of 257 bytes", "scope", "openid " + strings.Repeat("s", 257), "invalid_scope", 0, 1},
		{"a state of 4097 bytes", "state", strings.Repeat("s", 4097), "", 0, 1},
		{"an aud of 4097 bytes", "aud", strings.Repeat("a", 4097), "invalid_request", 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := withQueryParam(l.url, tc.param, tc.value, false)
			store.getApp.Store(0)
			p := h.browser().get(u)
			if got := store.getApp.Load(); got != tc.wantReads {
				t.Errorf("the app was read %d times before the refusal, want %d", got, tc.wantReads)
			}
			state := l.state
			if tc.param == "state" {
				state = tc.value
				tc.wantError = "invalid_request"
			}
			if tc.wantError != "" {
				if got := redirectError(t, p, state); got != tc.wantError {
					t.Fatalf("want a redirect with error=%s, got %d Location=%.200q", tc.wantError, p.status, p.header.Get("Location"))
				}
				return
			}
			if p.status != tc.wantStatus || p.header.Get("Location") != "" || !strings.Contains(p.body, "<h1>") {
				t.Fatalf("want error page %d, got %d Location=%.200q", tc.wantStatus, p.status, p.header.Get("Location"))
			}
		})
	}
	t.Run("50 scopes are within the limit", func(t *testing.T) {
		u := withQueryParam(l.url, "scope", conf.Scopes[0]+" "+scopes(49, "patient/T%d.rs"), false)
		if p := h.browser().get(u); p.url.Path != "/login" {
			t.Fatalf("want the login page, got %d %s Location=%q", p.status, p.url, p.header.Get("Location"))
		}
	})
}

// TestAuthorizeManyScopesCheap: one authorization request with 400 SMART
// scopes (within the 8 KiB query) costs the allocations of a plain
// refusal, not several per scope as when every scope was parsed, narrowed
// and matched (the work, measured without a clock).
func TestAuthorizeManyScopesCheap(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(true, "approved")
	u := withQueryParam(h.newLaunch(conf).url, "scope", scopes(400, "patient/T%d.rs"), false)
	allocs := testing.AllocsPerRun(5, func() {
		rec := httptest.NewRecorder()
		h.gw.Handler.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("status %d, want a redirect with an error", rec.Code)
		}
	})
	if allocs > 400 {
		t.Fatalf("one request with 400 scopes made %.0f allocations, want fewer than one per scope", allocs)
	}
}

// TestDuplicateOAuthParametersRefused: a parameter sent twice is refused
// (RFC 6749 §3.1: parameters MUST NOT be included more than once). At the
// authorization endpoint, a repeated client_id or redirect_uri gets the
// error page (the redirect target is not known), any other a redirect
// with invalid_request; at the token, revocation and introspection
// endpoints, invalid_request. A refused request spends nothing: the code
// still works afterwards.
func TestDuplicateOAuthParametersRefused(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	l := h.newLaunch(conf)
	for _, name := range []string{"state", "scope", "redirect_uri", "code_challenge", "code_challenge_method", "client_id", "response_type", "aud"} {
		t.Run("authorize "+name, func(t *testing.T) {
			parsed, _ := url.Parse(l.url)
			p := h.browser().get(withQueryParam(l.url, name, parsed.Query().Get(name), true))
			if name == "client_id" || name == "redirect_uri" {
				if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
					t.Fatalf("want the error page, got %d Location=%q", p.status, p.header.Get("Location"))
				}
				return
			}
			if got := redirectError(t, p, l.state); got != "invalid_request" {
				t.Fatalf("want a redirect with error=invalid_request, got %d Location=%q", p.status, p.header.Get("Location"))
			}
		})
	}
	code := h.authorize(h.browser(), l, "alice")
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {l.verifier}}
	for _, name := range []string{"grant_type", "code", "redirect_uri", "code_verifier", "client_id"} {
		form := url.Values{}
		for k, v := range exchange {
			form[k] = append([]string(nil), v...)
		}
		form.Add(name, form.Get(name))
		if name == "client_id" {
			form.Add(name, conf.ClientID)
		}
		if status, _, body := h.oauthError(conf, h.endpoint("token_endpoint"), form); status != 400 || body["error"] != "invalid_request" {
			t.Errorf("token with %s twice: %d %v, want 400 invalid_request", name, status, body)
		}
	}
	for _, ep := range []string{"introspection_endpoint", "revocation_endpoint"} {
		if status, _, body := h.oauthError(conf, h.endpoint(ep), url.Values{"token": {"a", "b"}}); status != 400 || body["error"] != "invalid_request" {
			t.Errorf("%s with token twice: %d %v, want 400 invalid_request", ep, status, body)
		}
	}
	if _, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier)); err != nil {
		t.Fatalf("the code no longer works after the refused requests: %v", err)
	}
}

// TestCodeChallengeFormat: code_challenge must be 43 to 128 characters of
// the RFC 7636 §4.2 alphabet (ALPHA / DIGIT / "-" / "." / "_" / "~").
func TestCodeChallengeFormat(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(true, "approved")
	l := h.newLaunch(conf)
	for _, tc := range []struct {
		name, challenge string
		ok              bool
	}{
		{"42 characters", strings.Repeat("a", 42), false},
		{"129 characters", strings.Repeat("a", 129), false},
		{"padding", strings.Repeat("a", 42) + "=", false},
		{"standard base64", strings.Repeat("a", 42) + "+", false},
		{"a space", strings.Repeat("a", 21) + " " + strings.Repeat("a", 21), false},
		{"43 characters", strings.Repeat("a", 40) + "-._", true},
		{"128 characters", strings.Repeat("Z", 127) + "~", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := h.browser().get(withQueryParam(l.url, "code_challenge", tc.challenge, false))
			if tc.ok {
				if p.url.Path != "/login" {
					t.Fatalf("a valid challenge was refused: %d Location=%q", p.status, p.header.Get("Location"))
				}
				return
			}
			if got := redirectError(t, p, l.state); got != "invalid_request" {
				t.Fatalf("want a redirect with error=invalid_request, got %d Location=%q", p.status, p.header.Get("Location"))
			}
		})
	}
}

// TestTokenParameterLimits: the token endpoint refuses too many scopes
// (invalid_scope) and an oversized parameter (invalid_request) before it
// authenticates the client or reads the store.
func TestTokenParameterLimits(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"51 scopes on refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "scope": {scopes(51, "patient/T%d.rs")}}, "invalid_scope"},
		{"a scope of 257 bytes", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "scope": {strings.Repeat("s", 257)}}, "invalid_scope"},
		{"a refresh token of 4097 bytes", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("r", 4097)}}, "invalid_request"},
	} {
		if status, _, body := h.oauthError(conf, h.endpoint("token_endpoint"), tc.form); status != 400 || body["error"] != tc.want {
			t.Errorf("%s: %d %v, want 400 %s", tc.name, status, body, tc.want)
		}
	}
}
