package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTokenResponsesAreNotCached: every answer of the token endpoint, the
// tokens and a refusal alike, tells caches not to keep it (RFC 6749 §5.1,
// the SMART kit's smart_token_response_headers): Cache-Control: no-store
// and Pragma: no-cache.
func TestTokenResponsesAreNotCached(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")

	post := func(form url.Values) *http.Response {
		t.Helper()
		req, err := http.NewRequest("POST", conf.Endpoint.TokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(conf.ClientID), url.QueryEscape(conf.ClientSecret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	cases := []struct {
		name   string
		form   url.Values
		status int
	}{
		{"tokens", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, http.StatusOK},
		{"refusal", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-token"}}, http.StatusBadRequest},
	}
	for _, c := range cases {
		resp := post(c.form)
		if resp.StatusCode != c.status {
			t.Fatalf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
			t.Errorf("%s: Cache-Control %q, want no-store", c.name, got)
		}
		if got := resp.Header.Get("Pragma"); got != "no-cache" {
			t.Errorf("%s: Pragma %q, want no-cache", c.name, got)
		}
	}
}
