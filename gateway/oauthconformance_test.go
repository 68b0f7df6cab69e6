package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// oauthError posts form to an OAuth endpoint as conf (client_secret_basic)
// and returns the status, the headers and the decoded JSON body.
func (h *harness) oauthError(conf *oauth2.Config, endpoint string, form url.Values) (int, http.Header, map[string]any) {
	h.t.Helper()
	resp, err := h.clientPost(conf, endpoint, form)
	if err != nil {
		h.t.Fatalf("POST %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, resp.Header, body
}

// TestBadBasicCredentialsChallenge: a client that authenticates with HTTP
// Basic and fails gets 401 with a WWW-Authenticate: Basic challenge
// (RFC 6749 §5.2), on every endpoint that authenticates clients.
func TestBadBasicCredentialsChallenge(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	bad := *conf
	bad.ClientSecret = "not-the-secret"
	for _, tc := range []struct {
		name, endpoint string
		form           url.Values
	}{
		{"token", h.endpoint("token_endpoint"), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}},
		{"introspection", h.endpoint("introspection_endpoint"), url.Values{"token": {"x"}}},
		{"revocation", h.endpoint("revocation_endpoint"), url.Values{"token": {"x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, _ := h.oauthError(&bad, tc.endpoint, tc.form)
			if status != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic ") {
				t.Fatalf("wrong Basic secret: %d WWW-Authenticate=%q, want 401 with a Basic challenge", status, hdr.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestUnknownGrantTypeRefused: a grant type the server does not offer is
// unsupported_grant_type (RFC 6749 §5.2), not a generic invalid_request.
func TestUnknownGrantTypeRefused(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	for _, gt := range []string{"password", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code", "implicit"} {
		status, _, body := h.oauthError(conf, h.endpoint("token_endpoint"), url.Values{"grant_type": {gt}, "username": {"alice"}, "password": {demoPassword}})
		if status != http.StatusBadRequest || body["error"] != "unsupported_grant_type" {
			t.Errorf("grant_type=%s: %d %v, want 400 unsupported_grant_type", gt, status, body)
		}
	}
}

// TestIntrospectionNamesIssuer: an active token's introspection says who
// issued it (iss, RFC 7662 §2.2), so a resource server can tell servers apart.
func TestIntrospectionNamesIssuer(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")
	if got := h.introspect(conf, tok.AccessToken); got["active"] != true || got["iss"] != h.base {
		t.Fatalf("introspection: active=%v iss=%v, want true and %s", got["active"], got["iss"], h.base)
	}
}

// TestFHIRScopeRefusalChallenge: a token whose scopes do not cover the
// request gets 403 with WWW-Authenticate: Bearer error="insufficient_scope"
// (RFC 6750 §3.1).
func TestFHIRScopeRefusalChallenge(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(true, "approved")
	l := h.newLaunch(conf)
	code := h.authorize(h.browser(), l, "alice", "about-you")
	tok, err := conf.Exchange(t.Context(), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	req, _ := http.NewRequest("GET", h.fhir+"/ExplanationOfBenefit?patient="+h.patient["alice"], nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Fatalf("EOB without its scope: %d WWW-Authenticate=%q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestDiscoveryReadableFromAnyOrigin: the public documents a client starts
// from are readable from any origin (Access-Control-Allow-Origin: *,
// never with credentials), while the token, revocation and FHIR data
// endpoints keep answering only the exact origins of approved apps.
func TestDiscoveryReadableFromAnyOrigin(t *testing.T) {
	h := newHarness(t, memoryStore)
	h.registerApp(true, "approved")
	const stranger = "https://someone-else.example"
	send := func(method, path, origin string) *http.Response {
		req, _ := http.NewRequest(method, h.base+path, nil)
		req.Header.Set("Origin", origin)
		if method == "OPTIONS" {
			req.Header.Set("Access-Control-Request-Method", "GET")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		return resp
	}
	for _, path := range []string{"/fhir/.well-known/smart-configuration", "/.well-known/openid-configuration", "/oauth/jwks", "/fhir/metadata"} {
		for _, method := range []string{"GET", "OPTIONS"} {
			r := send(method, path, stranger)
			if r.StatusCode >= 300 || r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s %s from %s: %d ACAO=%q ACAC=%q, want ACAO * without credentials", method, path, stranger,
					r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"), r.Header.Get("Access-Control-Allow-Credentials"))
			}
		}
	}
	for _, path := range []string{"/oauth/token", "/oauth/revoke", "/fhir/Patient"} {
		if r := send("OPTIONS", path, stranger); r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight for %s from %s: ACAO=%q, want none", path, stranger, r.Header.Get("Access-Control-Allow-Origin"))
		}
		if r := send("OPTIONS", path, "https://app.example.test"); r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.test" {
			t.Errorf("preflight for %s from the app: ACAO=%q, want the exact origin", path, r.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

// TestPromptNoneAnswersWithoutAPage: prompt=none asks for no page at all
// (OpenID Connect Core §3.1.2.6). With no signed-in member the app gets
// error=login_required back, not the login page; with one, it gets
// consent_required, since every authorization here needs the consent page.
func TestPromptNoneAnswersWithoutAPage(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(true, "approved")
	b := h.browser()
	wantError := func(p page, l launch, code string) {
		t.Helper()
		u, err := url.Parse(p.header.Get("Location"))
		if err != nil || !strings.HasPrefix(u.String(), appRedirect) || u.Query().Get("error") != code || u.Query().Get("state") != l.state {
			t.Fatalf("prompt=none: %d Location=%q, want a redirect to the app with error=%s", p.status, p.header.Get("Location"), code)
		}
	}
	l := h.newLaunch(conf, oauth2.SetAuthURLParam("prompt", "none"))
	wantError(b.get(l.url), l, "login_required")

	b.login(b.get(h.base+"/login"), "alice")
	l = h.newLaunch(conf, oauth2.SetAuthURLParam("prompt", "none"))
	wantError(b.get(l.url), l, "consent_required")
}
