package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway"
	redisstore "github.com/patientaccess/gateway/gateway/store/redis"
	"github.com/patientaccess/gateway/gateway/store/storetest"
)

// ownRedis opens the gateway's Redis store on a redis-server of the test's
// own, the way `serve` does (redisstore.Open, with its timeouts).
func ownRedis(srv *storetest.RedisServer) func(t testing.TB) gateway.Store {
	return func(t testing.TB) gateway.Store {
		t.Helper()
		st, client, err := redisstore.Open(context.Background(), srv.URL, 2*time.Second)
		if err != nil {
			t.Fatalf("open redis on %s: %v", srv.Addr, err)
		}
		t.Cleanup(func() { _ = client.Close() })
		return st
	}
}

// answer is what one probe got back.
type answer struct {
	status     int
	retryAfter string
	body       string
	took       time.Duration
}

// probes are the requests a client with valid credentials makes: each
// must be answered 503 with Retry-After while the store is unavailable,
// never refused as if the credentials were bad.
func (h *harness) probes(conf *oauth2.Config, tok *oauth2.Token, member *browser) map[string]func() *http.Response {
	post := func(endpoint string, form url.Values) func() *http.Response {
		return func() *http.Response {
			resp, err := h.clientPost(conf, endpoint, form)
			if err != nil {
				h.t.Errorf("POST %s: %v", endpoint, err)
				return nil
			}
			return resp
		}
	}
	get := func(client *http.Client, u, bearer string) func() *http.Response {
		return func() *http.Response {
			req, _ := http.NewRequest("GET", u, nil)
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			resp, err := client.Do(req)
			if err != nil {
				h.t.Errorf("GET %s: %v", u, err)
				return nil
			}
			return resp
		}
	}
	signIn := h.browser()
	form := signIn.get(h.base + "/login?return_to=/account/apps") // needs no store
	login := func() *http.Response {
		f := url.Values{"csrf_token": {form.field(h.t, csrfRE)}, "return_to": {"/account/apps"},
			"username": {"alice"}, "password": {demoPassword}}
		req, _ := http.NewRequest("POST", h.base+"/login", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := signIn.client.Do(req)
		if err != nil {
			h.t.Errorf("POST /login: %v", err)
			return nil
		}
		return resp
	}
	return map[string]func() *http.Response{
		"sign in":        login,
		"fhir read":      get(http.DefaultClient, h.fhir+"/Patient/"+h.patient["alice"], tok.AccessToken),
		"fhir search":    get(http.DefaultClient, h.fhir+"/ExplanationOfBenefit?patient="+h.patient["alice"], tok.AccessToken),
		"token refresh":  post(conf.Endpoint.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}),
		"introspect":     post(h.endpoint("introspection_endpoint"), url.Values{"token": {tok.AccessToken}}),
		"revoke":         post(h.endpoint("revocation_endpoint"), url.Values{"token": {tok.RefreshToken}}),
		"connected apps": get(member.client, h.base+"/account/apps", ""),
		"admin apps":     get(http.DefaultClient, h.base+"/admin/apps", adminToken),
	}
}

// probeAll runs every probe at once and returns what each got.
func probeAll(probes map[string]func() *http.Response) map[string]answer {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]answer{}
	for name, p := range probes {
		wg.Go(func() {
			start := time.Now()
			resp := p()
			if resp == nil {
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			out[name] = answer{resp.StatusCode, resp.Header.Get("Retry-After"), string(body), time.Since(start)}
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// want503 checks that every probe was answered 503 with Retry-After, in
// the form its endpoint speaks, within bound.
func want503(t *testing.T, got map[string]answer, bound time.Duration) {
	t.Helper()
	for name, a := range got {
		if a.status != http.StatusServiceUnavailable || a.retryAfter == "" {
			t.Errorf("%s: %d Retry-After=%q, want 503 with Retry-After; body: %.300s", name, a.status, a.retryAfter, a.body)
			continue
		}
		if a.took > bound {
			t.Errorf("%s: answered after %v, want within %v", name, a.took, bound)
		}
		switch {
		case strings.HasPrefix(name, "fhir"):
			var oo struct{ ResourceType string }
			if json.Unmarshal([]byte(a.body), &oo) != nil || oo.ResourceType != "OperationOutcome" {
				t.Errorf("%s: body is not an OperationOutcome: %.300s", name, a.body)
			}
		case name == "connected apps" || name == "sign in":
			if !strings.Contains(a.body, "<html") {
				t.Errorf("%s: body is not the error page: %.300s", name, a.body)
			}
		default:
			var e struct{ Error string }
			if json.Unmarshal([]byte(a.body), &e) != nil || e.Error != "temporarily_unavailable" {
				t.Errorf("%s: body is not RFC 6749 temporarily_unavailable: %.300s", name, a.body)
			}
		}
	}
}

// TestRedisOutageAnswers503: with Redis down (killed) or stalled (SIGSTOP),
// a client holding valid credentials gets 503 with Retry-After from the
// FHIR API, the token, introspection and revocation endpoints and the
// member's pages, within a bound, never a 401 or invalid_client; and once
// Redis answers again, the same credentials work.
func TestRedisOutageAnswers503(t *testing.T) {
	srv := storetest.StartRedis(t)
	h := newHarness(t, ownRedis(srv))
	conf := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")
	member := h.browser()
	member.login(member.get(h.base+"/login?return_to=/account/apps"), "alice")

	t.Run("stalled", func(t *testing.T) {
		srv.Stall()
		got := probeAll(h.probes(conf, tok, member))
		srv.Resume()
		want503(t, got, 4*time.Second)
	})
	if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 200 {
		t.Fatalf("FHIR read after the stall: %d, want 200", code)
	}
	t.Run("down", func(t *testing.T) {
		srv.Stop()
		want503(t, probeAll(h.probes(conf, tok, member)), 2*time.Second)
	})
}

// TestStoreOutageAnswers503 is TestRedisOutageAnswers503 on every store,
// with the outage injected (every store call fails with ErrUnavailable):
// the mapping from a store failure to 503 does not depend on the backend.
func TestStoreOutageAnswers503(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			faulty, open := newFaulty(open)
			h := newHarness(t, open)
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			member := h.browser()
			member.login(member.get(h.base+"/login?return_to=/account/apps"), "alice")
			faulty.down(true)
			want503(t, probeAll(h.probes(conf, tok, member)), time.Second)
			faulty.down(false)
			if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 200 {
				t.Fatalf("FHIR read after the outage: %d, want 200", code)
			}
		})
	}
}

// TestRequestDeadline: a store call that never returns (a stalled backend
// honouring its context) ends at the request's deadline, and the client
// gets 503, not a hung connection. The deadline is the gateway's, the same
// for every store; the Redis store's own bounds are tested with a stalled
// Redis (TestRedisOutageAnswers503, TestEveryMethodReportsUnavailable).
func TestRequestDeadline(t *testing.T) {
	for name, open := range map[string]func(testing.TB) gateway.Store{"memory": memoryStore} {
		t.Run(name, func(t *testing.T) {
			faulty, open := newFaulty(open)
			const deadline = 2 * time.Second // more than a sign-in's bcrypt under the race detector
			h := newHarnessWith(t, open, func(c *gateway.Config) { c.RequestTimeout = deadline })
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			member := h.browser()
			member.login(member.get(h.base+"/login?return_to=/account/apps"), "alice")
			faulty.setRule(func(string) error { return errHang })
			want503(t, probeAll(h.probes(conf, tok, member)), deadline+time.Second)
		})
	}
}
