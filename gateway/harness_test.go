package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/store/memory"
	redisstore "github.com/patientaccess/gateway/gateway/store/redis"
)

const (
	demoPassword = "correct horse battery"
	adminToken   = "test-admin-token-0123456789"
	appRedirect  = "https://app.example.test/callback"
)

// harness is a running gateway with a real HTTP server, on one store.
type harness struct {
	t       testing.TB
	base    string
	fhir    string
	gw      *gateway.Gateway
	disco   map[string]any
	patient map[string]string // member → Patient id
}

// stores are the backends every end-to-end test runs on.
func stores(testing.TB) map[string]func(t testing.TB) gateway.Store {
	return map[string]func(t testing.TB) gateway.Store{
		"memory": func(testing.TB) gateway.Store { return memory.New(nil) },
		"redis":  openRedis,
	}
}

// testRedis connects to the test Redis (GATEWAY_TEST_REDIS_URL, default
// db 15 on 127.0.0.1). Without Redis the test fails in CI and skips locally.
func testRedis(t testing.TB) (string, *goredis.Client) {
	t.Helper()
	u := os.Getenv("GATEWAY_TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/15"
	}
	opts, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatalf("GATEWAY_TEST_REDIS_URL: %v", err)
	}
	client := goredis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis at %s does not answer: %v", u, err)
		}
		t.Skipf("redis at %s does not answer (set CI=1 to fail instead): %v", u, err)
	}
	return u, client
}

// deleteKeys removes every key with the prefix now and when the test ends.
func deleteKeys(t testing.TB, client *goredis.Client, prefix string) {
	del := func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	}
	del()
	t.Cleanup(del)
}

// openRedis is a Redis store with a key prefix of its own, emptied afterwards.
func openRedis(t testing.TB) gateway.Store {
	t.Helper()
	_, client := testRedis(t)
	prefix := fmt.Sprintf("pagtest:%s:%d:", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	deleteKeys(t, client, prefix)
	deleteKeys(t, client, "rate:"+prefix) // the limiter's keys (redis_rate prefixes its own)
	return redisstore.New(client, redisstore.WithPrefix(prefix))
}

func newHarness(t testing.TB, open func(t testing.TB) gateway.Store) *harness {
	t.Helper()
	return newHarnessWith(t, open, nil)
}

// newHarnessWith is newHarness with the configuration changed by configure.
func newHarnessWith(t testing.TB, open func(t testing.TB) gateway.Store, configure func(*gateway.Config)) *harness {
	t.Helper()
	return newHarnessSetup(t, open, func(cfg *gateway.Config, _ *gateway.Options) {
		if configure != nil {
			configure(cfg)
		}
	})
}

// newHarnessSetup is newHarness with a setup step that may change the
// configuration and the options once the base URL is known.
func newHarnessSetup(t testing.TB, open func(t testing.TB) gateway.Store, setup func(cfg *gateway.Config, opts *gateway.Options)) *harness {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	cfg := gateway.Config{Addr: srv.Listener.Addr().String(), BaseURL: base, Demo: true,
		DemoPassword: demoPassword, AdminToken: adminToken}
	opts := gateway.Options{Store: open(t)}
	if setup != nil {
		setup(&cfg, &opts)
	}
	if opts.Logger == nil {
		opts.Logger = debugLogger()
	}
	gw, err := gateway.New(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	srv.Config.Handler = gw.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	h := &harness{t: t, base: base, fhir: base + "/fhir", gw: gw, patient: map[string]string{}}
	for _, m := range gw.Demo.Members {
		h.patient[m.Username] = m.PatientID
	}
	h.getJSON(base+"/fhir/.well-known/smart-configuration", &h.disco)
	return h
}

func (h *harness) endpoint(name string) string {
	s, _ := h.disco[name].(string)
	if s == "" {
		h.t.Fatalf("smart-configuration has no %s", name)
	}
	return s
}

func (h *harness) getJSON(u string, v any) {
	h.t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		h.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		h.t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		h.t.Fatalf("GET %s: %v", u, err)
	}
}

// admin calls the admin API and decodes its JSON answer.
func (h *harness) admin(method, path string, body any, out any) int {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, h.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// testApproval approves an app whatever its checks say: most tests are not
// about the criteria (contact details, loopback redirect URIs).
var testApproval = map[string]string{"override": "test app: the criteria are not what this test is about"}

// testRefusal is the body of a denial or suspension with evidence.
func testRefusal(evidence string) map[string]any {
	return map[string]any{"criteria": []string{"reported-compromise"}, "evidence": evidence}
}

// registerApp registers an app through the admin API and, unless status is
// "pending", decides it. It returns an OAuth client config for it.
func (h *harness) registerApp(public bool, status string) *oauth2.Config {
	h.t.Helper()
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	code := h.admin("POST", "/admin/apps", map[string]any{
		"name": "Test Tracker", "developer": "Test Co", "redirect_uris": []string{appRedirect},
		"public": public, "privacy_policy_url": "https://app.example.test/privacy",
		"scope": "launch/patient openid fhirUser offline_access patient/*.read patient/*.rs",
	}, &reg)
	if code != http.StatusCreated || reg.ClientID == "" {
		h.t.Fatalf("register app: status %d", code)
	}
	if status != "pending" {
		if code := h.admin("POST", "/admin/apps/"+reg.ClientID+"/approve", testApproval, nil); code != 200 {
			h.t.Fatalf("approve app: status %d", code)
		}
	}
	if status == "denied" || status == "suspended" {
		// An app is denied from pending only: suspend the approved app to
		// refuse it (the refusal looks the same to a member).
		if code := h.admin("POST", "/admin/apps/"+reg.ClientID+"/suspend", testRefusal("test"), nil); code != 200 {
			h.t.Fatalf("refuse app: status %d", code)
		}
	}
	style := oauth2.AuthStyleInHeader
	if public {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RedirectURL: appRedirect,
		Scopes: []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.read"},
		Endpoint: oauth2.Endpoint{AuthURL: h.endpoint("authorization_endpoint"),
			TokenURL: h.endpoint("token_endpoint"), AuthStyle: style},
	}
}

// browser is a member's browser: a cookie jar, and redirects followed on
// the gateway but not to the app.
type browser struct {
	t      testing.TB
	client *http.Client
	base   string
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), h.base) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return &browser{t: h.t, client: c, base: h.base}
}

// page is a fetched HTML page.
type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(body), header: resp.Header}
}

func (b *browser) get(u string) page {
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	returnRE = regexp.MustCompile(`name="return_to" value="([^"]*)"`)
)

func (p page) field(t testing.TB, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("page %s (status %d) has no %s:\n%s", p.url, p.status, re, p.body)
	}
	return html.UnescapeString(m[1])
}

// login signs the member in from the login page p.
func (b *browser) login(p page, user string) page {
	b.t.Helper()
	return b.post(b.base+"/login", url.Values{"csrf_token": {p.field(b.t, csrfRE)},
		"return_to": {p.field(b.t, returnRE)}, "username": {user}, "password": {demoPassword}})
}

// consent answers the consent page p, sharing the given data categories
// for the time-limited duration; no categories shares every one offered.
func (b *browser) consent(p page, decision string, share ...string) page {
	b.t.Helper()
	if len(share) == 0 {
		share = p.offered()
	}
	action := p.field(b.t, actionRE)
	return b.post(b.base+action, url.Values{"csrf_token": {p.field(b.t, csrfRE)}, "decision": {decision}, "share": share,
		"duration": {"limited"}})
}

var (
	shareRE      = regexp.MustCompile(`name="share" value="([^"]+)"`)
	revokeFormRE = regexp.MustCompile(`<form method="post" action="(/account/apps/[^/"]+/revoke)"`)
)

// revokeApp ends an app's access as a member does: from the connected apps
// page p, the app's "End access" link to the confirmation page, then its
// form. It returns the page the browser ends on.
func (b *browser) revokeApp(p page, clientID string) page {
	b.t.Helper()
	link := "/account/apps/" + clientID + "/revoke"
	if !strings.Contains(p.body, `href="`+link+`"`) {
		b.t.Fatalf("no End access link for %s on %s:\n%s", clientID, p.url, p.body)
	}
	confirm := b.get(b.base + link)
	if confirm.status != 200 || !strings.Contains(confirm.body, "cannot take them back") {
		b.t.Fatalf("confirmation page %d:\n%s", confirm.status, confirm.body)
	}
	return b.post(b.base+confirm.field(b.t, revokeFormRE), url.Values{"csrf_token": {confirm.field(b.t, csrfRE)}})
}

// offered lists the data categories the consent page p offers.
func (p page) offered() []string {
	var out []string
	for _, m := range shareRE.FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1])
	}
	return out
}

// launch is one standalone launch: the authorize URL with PKCE S256 and aud.
type launch struct {
	conf     *oauth2.Config
	verifier string
	state    string
	url      string
}

func (h *harness) newLaunch(conf *oauth2.Config, extra ...oauth2.AuthCodeOption) launch {
	l := launch{conf: conf, verifier: oauth2.GenerateVerifier(), state: oauth2.GenerateVerifier()[:20]}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(l.verifier), oauth2.SetAuthURLParam("aud", h.fhir)}, extra...)
	l.url = conf.AuthCodeURL(l.state, opts...)
	return l
}

// authorize runs the member's side of a launch and returns the code.
func (h *harness) authorize(b *browser, l launch, user string, share ...string) string {
	h.t.Helper()
	p := b.get(l.url)
	if p.url.Path == "/login" {
		p = b.login(p, user)
	}
	if p.status != 200 || !strings.Contains(p.body, "HIPAA") {
		h.t.Fatalf("want the consent page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	r := b.consent(p, "allow", share...)
	return h.codeFrom(r, l.state)
}

// codeFrom reads the code from the redirect back to the app, checking state.
func (h *harness) codeFrom(p page, state string) string {
	h.t.Helper()
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil || p.status != http.StatusSeeOther && p.status != http.StatusFound || !strings.HasPrefix(loc.String(), appRedirect) {
		h.t.Fatalf("want a redirect to the app, got %d Location=%q:\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if got := loc.Query().Get("state"); got != state {
		h.t.Fatalf("state = %q, want %q", got, state)
	}
	code := loc.Query().Get("code")
	if code == "" {
		h.t.Fatalf("no code in %s", loc)
	}
	return code
}

// fhirGet calls the FHIR API with a bearer token and returns status and body.
func (h *harness) fhirGet(token, path string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.fhir+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// debugLogger logs the gateway to stderr when DEBUGLOG is set, to debug a
// test; otherwise it is nil and the gateway logs nothing.
func debugLogger() *slog.Logger {
	if os.Getenv("DEBUGLOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}
