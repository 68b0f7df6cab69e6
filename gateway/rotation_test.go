package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"
)

// failOnce is a faultyStore rule that fails the first call for which
// match is true, and passes every other.
func failOnce(match func(method string) bool) func(string) error {
	var done atomic.Bool
	return func(method string) error {
		if match(method) && done.CompareAndSwap(false, true) {
			return errInjected
		}
		return nil
	}
}

// tokenCall posts a form to the token endpoint as the client and returns
// the status and the decoded JSON answer.
func (h *harness) tokenCall(conf *oauth2.Config, form url.Values) (int, map[string]any) {
	resp, err := h.clientPost(conf, conf.Endpoint.TokenURL, form)
	if err != nil {
		h.t.Errorf("token request: %v", err)
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	return resp.StatusCode, out
}

// TestRefreshRetryAfterFailedRotation: when storing the new tokens of a
// refresh fails, the refresh changes nothing: the client is told to retry
// (503), and its retry with the same refresh token succeeds, instead of
// being taken for a reuse that ends the grant. On every store.
func TestRefreshRetryAfterFailedRotation(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			faulty, open := newFaulty(open)
			h := newHarness(t, open)
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			// The second step of a rotation: storing what replaces the old
			// refresh token, wherever the store does it.
			faulty.setRule(failOnce(func(m string) bool { return m == "CreateToken access" || m == "UseToken" }))
			refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
			if code, body := h.tokenCall(conf, refresh); code != http.StatusServiceUnavailable {
				t.Fatalf("refresh whose rotation failed: %d %v, want 503", code, body)
			}
			code, body := h.tokenCall(conf, refresh)
			if code != 200 {
				t.Fatalf("retry of the refresh: %d %v, want 200", code, body)
			}
			access, _ := body["access_token"].(string)
			if code, _ := h.fhirGet(access, "/Patient/"+h.patient["alice"]); code != 200 {
				t.Fatalf("FHIR with the retried refresh's token: %d, want 200", code)
			}
			next, _ := body["refresh_token"].(string)
			if code, body := h.tokenCall(conf, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}}); code != 200 {
				t.Fatalf("next refresh: %d %v, want 200", code, body)
			}
		})
	}
}

// TestConcurrentCodeReplay: 64 exchanges of one code at once give exactly
// one token response and 63 invalid_grant (never a server error), and the
// tokens the winner got are revoked, as for any reuse of a code (RFC 6749
// §4.1.2). On every store.
func TestConcurrentCodeReplay(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			conf := h.registerApp(false, "approved")
			l := h.newLaunch(conf)
			code := h.authorize(h.browser(), l, "alice")
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {conf.RedirectURL}, "code_verifier": {l.verifier}}
			const n = 64
			var wg sync.WaitGroup
			statuses := make([]int, n)
			bodies := make([]map[string]any, n)
			for i := range n {
				wg.Go(func() { statuses[i], bodies[i] = h.tokenCall(conf, form) })
			}
			wg.Wait()
			var won map[string]any
			ok, refused := 0, 0
			for i, s := range statuses {
				switch e, _ := bodies[i]["error"].(string); {
				case s == 200:
					won = bodies[i]
					ok++
				case s == 400 && e == "invalid_grant":
					refused++
				default:
					t.Errorf("exchange answered %d %v", s, bodies[i])
				}
			}
			if ok != 1 || refused != n-1 {
				t.Fatalf("%d exchanges succeeded and %d got invalid_grant, want 1 and %d", ok, refused, n-1)
			}
			access, _ := won["access_token"].(string)
			if code, _ := h.fhirGet(access, "/Patient/"+h.patient["alice"]); code != 401 {
				t.Errorf("the winner's access token after the replay: %d, want 401", code)
			}
			refresh, _ := won["refresh_token"].(string)
			if _, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refresh}).Token(); err == nil ||
				!strings.Contains(err.Error(), "invalid_grant") {
				t.Errorf("the winner's refresh token after the replay: %v, want invalid_grant", err)
			}
		})
	}
}
