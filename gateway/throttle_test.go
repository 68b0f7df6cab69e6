package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/store/memory"
	"github.com/patientaccess/gateway/gateway/store/storetest"
	"github.com/patientaccess/gateway/oauth"
)

// throttleCase is one store to run a throttling test on. The clock is set
// when the test can move the limiter's clock: the in-memory store reads
// the injected one, Redis its own (whose window the conformance suite
// checks with a short limit instead).
type throttleCase struct {
	h     *harness
	clock *storetest.Clock
}

func throttleCases(t *testing.T) map[string]func(t *testing.T) throttleCase {
	return throttleCasesWith(t, nil)
}

// throttleCasesWith is throttleCases with the configuration changed by
// configure.
func throttleCasesWith(_ *testing.T, configure func(*gateway.Config)) map[string]func(t *testing.T) throttleCase {
	return map[string]func(t *testing.T) throttleCase{
		"memory": func(t *testing.T) throttleCase {
			clock := storetest.NewClock(time.Now())
			store := func(testing.TB) gateway.Store { return memory.New(clock.Now) }
			h := newHarnessSetup(t, store, func(c *gateway.Config, o *gateway.Options) {
				o.Now = clock.Now
				if configure != nil {
					configure(c)
				}
			})
			return throttleCase{h: h, clock: clock}
		},
		"redis": func(t *testing.T) throttleCase { return throttleCase{h: newHarnessWith(t, openRedis, configure)} },
	}
}

// retryAfter reads a 429's Retry-After, failing unless it is whole seconds >= 1.
func retryAfter(t *testing.T, hdr http.Header) time.Duration {
	t.Helper()
	n, err := strconv.Atoi(hdr.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After = %q, want whole seconds >= 1", hdr.Get("Retry-After"))
	}
	return time.Duration(n) * time.Second
}

// TestLoginThrottledPerAccount: 40 wrong passwords in a row for one
// account get 401 at first, then 429 with Retry-After and a readable
// page; the right password is refused too until the window passes. An
// unknown username is throttled exactly alike, so throttling does not
// tell which accounts exist (checked on the in-memory store: the rule is
// the gateway's, the store only counts).
func TestLoginThrottledPerAccount(t *testing.T) {
	for name, open := range throttleCases(t) {
		t.Run(name, func(t *testing.T) {
			tc := open(t)
			h := tc.h
			b := h.browser()
			form := b.get(h.base + "/login")
			attempt := func(user, password string) page {
				return b.post(h.base+"/login", url.Values{"csrf_token": {form.field(t, csrfRE)},
					"return_to": {"/account/apps"}, "username": {user}, "password": {password}})
			}
			users := []string{"alice", "nobody-by-that-name"}
			if tc.clock == nil {
				users = users[:1] // each attempt before the 429s costs a bcrypt: keep the suite fast
			}
			statuses := map[string][]int{}
			var last page
			for _, user := range users {
				for range 40 {
					last = attempt(user, "wrong password")
					statuses[user] = append(statuses[user], last.status)
				}
				if last.status != http.StatusTooManyRequests || !strings.Contains(last.body, "too many tries to sign in to this account") {
					t.Fatalf("%s: attempt 40 got %d, want 429 with a readable message:\n%s", user, last.status, last.body)
				}
			}
			alice := statuses["alice"]
			if alice[0] != http.StatusUnauthorized || slices.Index(alice, http.StatusTooManyRequests) < 1 {
				t.Fatalf("alice's attempts: %v, want 401 first and 429 later", alice)
			}
			if len(users) > 1 && !slices.Equal(alice, statuses["nobody-by-that-name"]) {
				t.Fatalf("a member and an unknown username are throttled differently:\n%v\n%v", alice, statuses["nobody-by-that-name"])
			}
			p := attempt("alice", demoPassword)
			if p.status != http.StatusTooManyRequests {
				t.Fatalf("the right password while throttled: %d, want 429", p.status)
			}
			wait := retryAfter(t, p.header)
			if tc.clock == nil {
				return
			}
			tc.clock.Advance(wait)
			if p := attempt("alice", demoPassword); p.status != http.StatusOK || p.url.Path != "/account/apps" {
				t.Fatalf("the right password after %s: %d %s, want the account page", wait, p.status, p.url)
			}
		})
	}
}

// TestClientAuthFailuresThrottled: failed client authentications at the
// token endpoint are limited per client: after a burst they get 429 with
// Retry-After in RFC 6749 JSON, the right secret too, until the window
// passes; successful requests never count against the client.
func TestClientAuthFailuresThrottled(t *testing.T) {
	for name, open := range throttleCases(t) {
		t.Run(name, func(t *testing.T) {
			tc := open(t)
			h := tc.h
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			refresh := func(c *oauth2.Config) (int, http.Header, map[string]any) {
				status, hdr, body := h.oauthError(c, c.Endpoint.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
				if status == http.StatusOK {
					tok.RefreshToken, _ = body["refresh_token"].(string)
				}
				return status, hdr, body
			}
			for i := range 25 {
				if status, _, body := refresh(conf); status != http.StatusOK {
					t.Fatalf("successful refresh %d: %d %v", i+1, status, body)
				}
			}
			bad := *conf
			bad.ClientSecret = "not-the-secret"
			var statuses []int
			for range 40 {
				status, _, _ := refresh(&bad)
				statuses = append(statuses, status)
			}
			if statuses[0] != http.StatusUnauthorized || statuses[39] != http.StatusTooManyRequests {
				t.Fatalf("40 wrong secrets: %v, want 401 first and 429 later", statuses)
			}
			status, hdr, body := refresh(conf)
			if status != http.StatusTooManyRequests || body["error"] == nil || body["error_description"] == nil {
				t.Fatalf("the right secret while throttled: %d %v, want 429 with an RFC 6749 error", status, body)
			}
			wait := retryAfter(t, hdr)
			if tc.clock == nil {
				return
			}
			tc.clock.Advance(wait)
			if status, _, body := refresh(conf); status != http.StatusOK {
				t.Fatalf("the right secret after %s: %d %v", wait, status, body)
			}
		})
	}
}

// TestIntrospectionThrottledPerClient: a client may introspect in bursts,
// then at a steady rate; beyond it, 429 with Retry-After and no answer.
// Probing with tokens that are not active counts the same.
func TestIntrospectionThrottledPerClient(t *testing.T) {
	for name, open := range throttleCases(t) {
		t.Run(name, func(t *testing.T) {
			tc := open(t)
			h := tc.h
			conf := h.registerApp(false, "approved")
			other := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			introspect := func(c *oauth2.Config, token string) (int, http.Header, string) {
				resp, err := h.clientPost(c, h.endpoint("introspection_endpoint"), url.Values{"token": {token}})
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, resp.Header, string(raw)
			}
			var status int
			var hdr http.Header
			var body string
			n := 0
			for n = 1; n <= 500; n++ {
				if status, hdr, body = introspect(conf, "guess-"+strconv.Itoa(n)); status != http.StatusOK {
					break
				}
			}
			var got map[string]any
			_ = json.Unmarshal([]byte(body), &got)
			if status != http.StatusTooManyRequests || got["active"] != nil || got["error"] == nil {
				t.Fatalf("introspection %d: %d %s, want 429 with an error and no answer", n, status, body)
			}
			wait := retryAfter(t, hdr)
			if status, _, body := introspect(conf, tok.AccessToken); status != http.StatusTooManyRequests || strings.Contains(body, "active") {
				t.Fatalf("its own active token while throttled: %d %s, want 429 and no answer", status, body)
			}
			if status, _, _ := introspect(other, tok.AccessToken); status != http.StatusOK {
				t.Fatalf("another client was throttled too: %d", status)
			}
			if tc.clock == nil {
				return
			}
			tc.clock.Advance(wait)
			if status, _, body := introspect(conf, tok.AccessToken); status != http.StatusOK || !strings.Contains(body, `"active":true`) {
				t.Fatalf("introspection after %s: %d %s", wait, status, body)
			}
		})
	}
}

// TestIntrospectionCountsWhatItSays pins what an introspection with HTTP
// Basic credentials and an access token spends, now that its throttles
// are judged in its token check's store step, before the app is
// authenticated: a call with the wrong secret counts against the
// introspection allowance of the client it names (and as a failed client
// authentication); a call the client-auth throttle refuses spends
// nothing; a call that goes on to fosite's path (another app's token, a
// forged one) counts once, not twice.
func TestIntrospectionCountsWhatItSays(t *testing.T) {
	introspect := func(h *harness, c *oauth2.Config, token string) (int, http.Header) {
		t.Helper()
		resp, err := h.clientPost(c, h.endpoint("introspection_endpoint"), url.Values{"token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	wantStatuses := func(t *testing.T, what string, got, want []int) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
	}
	t.Run("wrong secrets count", func(t *testing.T) {
		for name, open := range throttleCasesWith(t, func(c *gateway.Config) { c.IntrospectLimit = oauth.Limit{Burst: 2, Every: time.Hour} }) {
			t.Run(name, func(t *testing.T) {
				h := open(t).h
				conf := h.registerApp(false, "approved")
				tok := h.launchAs(conf, "alice")
				bad := *conf
				bad.ClientSecret = "not-the-secret"
				var got []int
				for _, c := range []*oauth2.Config{&bad, &bad, conf} {
					code, _ := introspect(h, c, tok.AccessToken)
					got = append(got, code)
				}
				wantStatuses(t, "two wrong secrets, then the right one, with an allowance of 2", got,
					[]int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests})
			})
		}
	})
	t.Run("fosite's path counts once", func(t *testing.T) {
		for name, open := range throttleCasesWith(t, func(c *gateway.Config) { c.IntrospectLimit = oauth.Limit{Burst: 3, Every: time.Hour} }) {
			t.Run(name, func(t *testing.T) {
				h := open(t).h
				conf := h.registerApp(false, "approved")
				tok := h.launchAs(conf, "alice")
				others := h.launchAs(h.registerApp(false, "approved"), "alice")
				var got []int
				for _, token := range []string{others.AccessToken, "ory_at_forged.forged", tok.AccessToken, tok.AccessToken} {
					code, _ := introspect(h, conf, token)
					got = append(got, code)
				}
				wantStatuses(t, "another app's token, a forged one, its own twice, with an allowance of 3", got,
					[]int{http.StatusOK, http.StatusOK, http.StatusOK, http.StatusTooManyRequests})
			})
		}
	})
	t.Run("refused calls spend nothing", func(t *testing.T) {
		// The default client-auth limit (20, then one per 30 s) needs the
		// clock moved: the in-memory store's. The conformance suite checks
		// that a held gate takes nothing on every store.
		limit := oauth.Limit{Burst: oauth.DefaultClientAuthLimit.Burst + 1, Every: time.Hour}
		tc := throttleCasesWith(t, func(c *gateway.Config) { c.IntrospectLimit = limit })["memory"](t)
		h := tc.h
		conf := h.registerApp(false, "approved")
		tok := h.launchAs(conf, "alice")
		bad := *conf
		bad.ClientSecret = "not-the-secret"
		var got []int
		var hdr http.Header
		for range oauth.DefaultClientAuthLimit.Burst + 3 {
			var code int
			code, hdr = introspect(h, &bad, tok.AccessToken)
			got = append(got, code)
		}
		want := slices.Repeat([]int{http.StatusUnauthorized}, oauth.DefaultClientAuthLimit.Burst)
		wantStatuses(t, "wrong secrets beyond the client-auth burst", got,
			append(want, http.StatusTooManyRequests, http.StatusTooManyRequests, http.StatusTooManyRequests))
		tc.clock.Advance(retryAfter(t, hdr))
		got = got[:0]
		for range 2 {
			code, _ := introspect(h, conf, tok.AccessToken)
			got = append(got, code)
		}
		wantStatuses(t, "the right secret once the client-auth wait is over, the allowance one more than its failures", got,
			[]int{http.StatusOK, http.StatusTooManyRequests})
	})
}

// TestIntrospectLimitSetting: the operator's introspection limit
// (GATEWAY_INTROSPECT_LIMIT, Config.IntrospectLimit) is the one the
// introspection endpoint applies: with a burst of 2 the third call in the
// hour is refused.
func TestIntrospectLimitSetting(t *testing.T) {
	h := newHarnessWith(t, memoryStore, func(c *gateway.Config) { c.IntrospectLimit = oauth.Limit{Burst: 2, Every: time.Hour} })
	conf := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")
	for n, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		resp, err := h.clientPost(conf, h.endpoint("introspection_endpoint"), url.Values{"token": {tok.AccessToken}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("introspection %d: %d, want %d", n+1, resp.StatusCode, want)
		}
	}
}
