package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"

	goredis "github.com/redis/go-redis/v9"
)

// appRedirect is the registered redirect URI of the load test's app; the
// browser stops at it and reads the code.
const appRedirect = "https://loadtest.example/callback"

// demoPatient is the demo member alice's Patient id (fixed by the demo data).
const demoPatient = "alice-1001"

// introspectLimit is GATEWAY_INTROSPECT_LIMIT for the gateways under test:
// the harness's one client introspects far faster than the default allows
// (a burst of 120, then 2 a second), so the operators' setting raises it.
const introspectLimit = "1000000,1us"

// gatewayBinary is how a gateway process is started: the binary, and
// what to add to its environment.
type gatewayBinary struct {
	path string
	env  []string
}

// env is a gateway serving on a loopback port in a process of its own,
// with an approved app and the demo member alice.
type env struct {
	store    string
	upstream string // the upstream FHIR base in upstream mode; empty: the embedded store serves
	srv      *server
	base     string
	patient  string
	conf     *oauth2.Config
	password string
	adminTok string       // the admin token
	browser  *http.Client // alice's browser: signed in once, then every launch reuses the session
	cleanups []func()
}

// start starts a demo-mode gateway process on 127.0.0.1 with the given
// store (and, when upstream is set, in front of that FHIR server), and
// registers and approves the load test's app.
func start(ctx context.Context, o options, store, upstream string) (*env, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	e := &env{store: store, upstream: upstream, base: "http://" + addr, patient: demoPatient, password: random(12)}
	adminToken := random(16)
	e.adminTok = adminToken
	vars := []string{"GATEWAY_ADDR=" + addr, "GATEWAY_DEMO=true", "GATEWAY_DEMO_PASSWORD=" + e.password,
		"GATEWAY_ADMIN_TOKEN=" + adminToken, "GATEWAY_LOG_LEVEL=ERROR", "GATEWAY_POLICY_WATCH_INTERVAL=off",
		"GATEWAY_INTROSPECT_LIMIT=" + introspectLimit}
	switch store {
	case "memory":
	case "redis":
		prefix := "pagload:" + random(6) + ":"
		vars = append(vars, "GATEWAY_REDIS_URL="+o.RedisURL, "GATEWAY_REDIS_KEY_PREFIX="+prefix)
		del := func() { deleteRedisKeys(o.RedisURL, prefix) }
		e.cleanups = append(e.cleanups, onInterrupt(del), del)
	default:
		return nil, fmt.Errorf("unknown store %q (want memory or redis)", store)
	}
	if upstream != "" {
		vars = append(vars, "GATEWAY_FHIR_UPSTREAM_URL="+upstream)
	}
	if o.HeapProfiles != "" || o.CPUProfiles != "" {
		vars = append(vars, "GATEWAY_PPROF=true")
	}
	cmd := o.pin.command(o.gateway.path, "serve")
	cmd.Env = append(append(childEnv(), o.gateway.env...), vars...)
	name := "gateway (" + store + " store)"
	if upstream != "" {
		name = "gateway (" + store + " store, upstream mode)"
	}
	proc, err := startChild(name, cmd)
	if err != nil {
		e.close()
		return nil, err
	}
	e.srv = &server{name: "gateway", base: e.base, proc: proc}
	if store == "redis" {
		read, closeInfo, err := redisCPU(o.RedisURL)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		e.srv.storeCPU = read
		e.cleanups = append(e.cleanups, closeInfo)
	}
	if o.CPUProfiles != "" {
		e.srv.profile = e.cpuProfile
	}
	if err := waitReady(ctx, e.base, proc); err != nil {
		e.close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if e.conf, err = e.registerApp(adminToken); err != nil {
		e.close()
		return nil, fmt.Errorf("register app: %w", err)
	}
	return e, nil
}

// close stops the gateway process, then deletes what it left in Redis.
func (e *env) close() {
	if e.srv != nil {
		e.srv.proc.stop()
	}
	for _, c := range e.cleanups {
		c()
	}
	e.cleanups = nil
}

// saveHeapProfile writes the gateway's heap profile (from its profiler,
// behind the admin token) to dir/heap-NAME.pprof, and the text form, which
// ends with the Go runtime's memory statistics, to dir/heap-NAME.txt.
func (e *env) saveHeapProfile(dir, name string) error {
	for file, query := range map[string]string{"heap-" + name + ".pprof": "", "heap-" + name + ".txt": "?debug=1"} {
		req, _ := http.NewRequest("GET", e.base+"/admin/debug/pprof/heap"+query, nil)
		req.Header.Set("Authorization", "Bearer "+e.adminTok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("heap profile: %d", resp.StatusCode)
		}
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// cpuProfile takes the gateway's CPU profile for d (from its profiler,
// behind the admin token; d is rounded up to whole seconds).
func (e *env) cpuProfile(d time.Duration) ([]byte, error) {
	secs := int((d + time.Second - 1) / time.Second)
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/admin/debug/pprof/profile?seconds=%d", e.base, secs), nil)
	req.Header.Set("Authorization", "Bearer "+e.adminTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("CPU profile: %d %.200s", resp.StatusCode, b)
	}
	return b, nil
}

// freeAddr finds a free loopback port: the gateway must know its address
// (its issuer URL) before it listens.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// waitReady waits (at most a minute) until the gateway answers /readyz.
func waitReady(ctx context.Context, base string, proc *child) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if proc.exited() {
			return fmt.Errorf("exited: %s", proc.stderr.String())
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready after a minute: %s", proc.stderr.String())
}

// deleteRedisKeys deletes the keys a gateway wrote under prefix, and its
// rate limiter's (redis_rate puts "rate:" in front), scanning again until
// none is left; what it could not delete is reported on stderr.
func deleteRedisKeys(redisURL, prefix string) {
	if err := deleteKeys(redisURL, prefix); err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: Redis keys under %s* and rate:%s* may remain: %v\n", prefix, prefix, err)
	}
}

func deleteKeys(redisURL, prefix string) error {
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	client := goredis.NewClient(opt)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 5 {
		var keys []string
		for _, p := range []string{prefix, "rate:" + prefix} {
			iter := client.Scan(ctx, 0, p+"*", 1000).Iterator()
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
			if err := iter.Err(); err != nil {
				return fmt.Errorf("scan: %w", err)
			}
		}
		if len(keys) == 0 {
			return nil
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := client.Del(ctx, keys[:n]...).Err(); err != nil {
				return fmt.Errorf("del: %w", err)
			}
			keys = keys[n:]
		}
	}
	return errors.New("keys still appear after five passes")
}

// registerApp registers a confidential app through the admin API and
// approves it, overriding the vetting criteria (an admin's documented
// override).
func (e *env) registerApp(adminToken string) (*oauth2.Config, error) {
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	scope := "launch/patient openid fhirUser offline_access patient/*.rs"
	if err := e.admin(adminToken, "/admin/apps", map[string]any{
		"name": "Load Test", "developer": "Load Test", "redirect_uris": []string{appRedirect},
		"privacy_policy_url": "https://loadtest.example/privacy", "scope": scope,
	}, http.StatusCreated, &reg); err != nil {
		return nil, err
	}
	approval := map[string]string{"override": "load test app: the vetting criteria are not what is measured"}
	if err := e.admin(adminToken, "/admin/apps/"+reg.ClientID+"/approve", approval, http.StatusOK, nil); err != nil {
		return nil, err
	}
	return &oauth2.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RedirectURL: appRedirect,
		Scopes: strings.Fields(scope),
		Endpoint: oauth2.Endpoint{AuthURL: e.base + "/oauth/authorize", TokenURL: e.base + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInHeader}}, nil
}

// admin POSTs body as JSON to the gateway's admin API with the admin token.
func (e *env) admin(token, path string, body any, want int, out any) error {
	return sendJSON("POST", e.base+path, "Bearer "+token, body, want, out)
}

// sendJSON sends body as JSON (with an Authorization header unless auth is
// empty), checks the answer's status and decodes the answer into out
// (when not nil). The error names the method, the URL and the first 512
// bytes of an unexpected answer.
func sendJSON(method, u, auth string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, msg)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	returnRE = regexp.MustCompile(`name="return_to" value="([^"]*)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	shareRE  = regexp.MustCompile(`name="share" value="([^"]+)"`)
)

// mint runs a whole launch as alice: the authorization request with PKCE,
// the sign-in and consent pages, and the code exchange.
func (e *env) mint(ctx context.Context) (*oauth2.Token, error) {
	if e.browser == nil {
		jar, _ := cookiejar.New(nil)
		e.browser = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if !strings.HasPrefix(req.URL.String(), e.base) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	}
	browser := e.browser
	verifier, state := oauth2.GenerateVerifier(), random(10)
	authURL := e.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", e.base+"/fhir"))
	page, resp, err := fetch(browser, "GET", authURL, nil)
	if err != nil {
		return nil, err
	}
	if resp.Request.URL.Path == "/login" {
		form := url.Values{"csrf_token": {field(page, csrfRE)}, "return_to": {field(page, returnRE)},
			"username": {"alice"}, "password": {e.password}}
		if page, _, err = fetch(browser, "POST", e.base+"/login", form); err != nil {
			return nil, err
		}
	}
	var share []string
	for _, m := range shareRE.FindAllStringSubmatch(page, -1) {
		share = append(share, html.UnescapeString(m[1]))
	}
	form := url.Values{"csrf_token": {field(page, csrfRE)}, "decision": {"allow"}, "share": share, "duration": {"limited"}}
	if _, resp, err = fetch(browser, "POST", e.base+field(page, actionRE), form); err != nil {
		return nil, err
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		return nil, fmt.Errorf("the launch did not end with a code (status %d, %q)", resp.StatusCode, resp.Header.Get("Location"))
	}
	return e.conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
}

// mintMany runs n launches and returns their tokens.
func (e *env) mintMany(ctx context.Context, n int) ([]*oauth2.Token, error) {
	toks := make([]*oauth2.Token, 0, n)
	for range n {
		tok, err := e.mint(ctx)
		if err != nil {
			return nil, fmt.Errorf("mint a token: %w", err)
		}
		toks = append(toks, tok)
	}
	return toks, nil
}

// fetch sends a request (a form when form is not nil) and returns the body
// and the last response.
func fetch(c *http.Client, method, u string, form url.Values) (string, *http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp, err
}

func field(page string, re *regexp.Regexp) string {
	m := re.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func random(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("no randomness"))
	}
	return hex.EncodeToString(b)
}
