package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// hydraVersion is the ORY Hydra release the comparison is made with
// (issue 7: "build ORY Hydra v2.3.0 from its tagged source").
const hydraVersion = "v2.3.0"

// hydraEnvVar names the Hydra binary when -hydra is not given.
const hydraEnvVar = "HYDRA_BIN"

// hydraScope is what the comparison's client asks of Hydra: a refresh
// token (offline_access) and an id_token on every grant (openid), as the
// gateway's refresh chains get one (their app asks for openid fhirUser).
const hydraScope = "openid offline_access"

// hydraSetting is one way the comparison runs Hydra: the hashing of client
// secrets (oauth2.hashers), the one setting that differs between runs.
type hydraSetting struct {
	Name       string // what the output calls it
	Algorithm  string // oauth2.hashers.algorithm
	Iterations int    // oauth2.hashers.pbkdf2.iterations
}

// hydraSettings are the two runs: Hydra v2.3.0's default secret hashing
// (spec/config.json: algorithm pbkdf2, 25,000 iterations; bcrypt, the
// other choice, defaults to cost 10), and the lowest cost its
// configuration schema accepts (pbkdf2 with 1 iteration; bcrypt's lowest
// cost, 4, is slower). The gateway's client secrets are 256-bit random
// values checked by their SHA-256.
var hydraSettings = []hydraSetting{
	{Name: "hashing as shipped", Algorithm: "pbkdf2", Iterations: 25000},
	{Name: "hashing turned down", Algorithm: "pbkdf2", Iterations: 1},
}

// describe says what the setting is, for the output.
func (s hydraSetting) describe() string {
	return fmt.Sprintf("%s (%s, %d iteration%s)", s.Name, s.Algorithm, s.Iterations, plural(s.Iterations))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// hydraPorts are where one Hydra listens, and the login and consent URL
// it sends browsers to (nothing listens there: the harness reads the
// challenge from the redirect and accepts it through the admin API).
type hydraPorts struct {
	Public, Admin int
	App           string // base URL of the login and consent "app"
}

// hydraConfig renders Hydra's configuration file for a setting. Every
// setting not named here is Hydra's default; the system secret is the
// only value left out of the printed copy (see redactHydraConfig).
func hydraConfig(s hydraSetting, p hydraPorts, dsn, systemSecret string) string {
	return fmt.Sprintf(`# ORY Hydra %s, as the load harness runs it (everything else is Hydra's default)
dsn: %s
log:
  level: error
  leak_sensitive_values: false
serve:
  public:
    host: 127.0.0.1
    port: %d
  admin:
    host: 127.0.0.1
    port: %d
urls:
  self:
    issuer: http://127.0.0.1:%d
  login: %s/login
  consent: %s/consent
secrets:
  system:
    - %s
oauth2:
  hashers:
    algorithm: %s
    pbkdf2:
      iterations: %d
`, hydraVersion, dsn, p.Public, p.Admin, p.Public, p.App, p.App, systemSecret, s.Algorithm, s.Iterations)
}

// hydraDSN is Hydra's database: SQLite in a file under dir (on tmpfs when
// there is one), in WAL mode, waiting up to 10 s for the write lock.
// Hydra's `dsn: memory` (a shared-cache in-memory SQLite) refuses
// concurrent refresh grants ("Unable to serialize access due to a
// concurrent update in another session", a 500 that ends the chain).
func hydraDSN(dir string) string {
	return "sqlite://" + filepath.Join(dir, "hydra.sqlite") + "?_fk=true&_journal_mode=WAL&_busy_timeout=10000" + hydraTxLock
}

// hydraTxLock makes every SQLite transaction take the write lock when it
// begins, so that two refreshes wait for each other instead of one failing
// to upgrade its read lock.
const hydraTxLock = "&_txlock=immediate"

// hydraTmp is where Hydra's database goes: /dev/shm (tmpfs) if present.
func hydraTmp() string {
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// redactHydraConfig hides the system secret of a rendered configuration.
func redactHydraConfig(conf, systemSecret string) string {
	return strings.ReplaceAll(conf, systemSecret, "(32 random hex digits)")
}

// hydraBinary finds the Hydra binary: flag (-hydra), else $HYDRA_BIN. It
// returns "" and the line to print when there is none to run.
func hydraBinary(flag string, getenv func(string) string) (path, skip string) {
	path = flag
	if path == "" {
		path = getenv(hydraEnvVar)
	}
	if path == "" {
		return "", fmt.Sprintf("ORY Hydra comparison skipped: no Hydra binary (give -hydra /path/to/hydra or set %s; README, \"Against ORY Hydra\", says how to build %s).", hydraEnvVar, hydraVersion)
	}
	info, err := os.Stat(path)
	if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		return "", fmt.Sprintf("ORY Hydra comparison skipped: %s is not an executable file.", path)
	}
	return path, ""
}

// hydra is one running Hydra with a registered client.
type hydra struct {
	setting hydraSetting
	srv     *server // its public side: the token endpoint; its process
	public  string  // public base URL (authorization and token endpoints)
	admin   string  // admin base URL (clients, login and consent, introspection)
	config  string  // the configuration it runs with, secret redacted
	dir     string
	conf    *oauth2.Config
	browser *http.Client
}

// startHydra migrates a fresh database and starts `hydra serve all --dev`
// with the setting's configuration on free loopback ports, pinned like
// every server under test, waits until it is ready and registers a client.
func startHydra(ctx context.Context, o options, bin string, s hydraSetting) (*hydra, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(hydraTmp(), "pag-hydra-")
	if err != nil {
		return nil, err
	}
	secret := random(16) // 32 hex digits: Hydra wants at least 16 characters
	p := hydraPorts{Public: ports[0], Admin: ports[1], App: "http://127.0.0.1:" + strconv.Itoa(ports[2])}
	dsn := hydraDSN(dir)
	conf := hydraConfig(s, p, dsn, secret)
	file := filepath.Join(dir, "hydra.yml")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	h := &hydra{setting: s, public: fmt.Sprintf("http://127.0.0.1:%d", p.Public), admin: fmt.Sprintf("http://127.0.0.1:%d", p.Admin),
		config: redactHydraConfig(conf, secret), dir: dir}
	env := append(childEnv(), "SQA_OPT_OUT=true", "DSN="+dsn)
	migrate := exec.CommandContext(ctx, bin, "migrate", "sql", "up", "--read-from-env", "--yes", "--config", file)
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("hydra migrate sql up: %w: %.500s", err, out)
	}
	// --dev allows an http issuer on loopback; --sqa-opt-out turns off
	// Hydra's usage reporting, so nothing leaves the machine.
	cmd := o.pin.command(bin, "serve", "all", "--dev", "--sqa-opt-out", "--config", file)
	cmd.Env = env
	c, err := startChild("Hydra "+s.Name, cmd)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	h.srv = &server{name: "Hydra, " + s.describe(), base: h.public, proc: c}
	if err := h.waitReady(ctx, time.Minute); err != nil {
		h.close()
		return nil, err
	}
	if err := h.registerClient(); err != nil {
		h.close()
		return nil, fmt.Errorf("hydra: register a client: %w", err)
	}
	return h, nil
}

// close stops Hydra and removes its database and configuration.
func (h *hydra) close() {
	h.srv.proc.stop()
	os.RemoveAll(h.dir)
}

// waitReady polls Hydra's readiness endpoint (which checks its database).
func (h *hydra) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if h.srv.proc.exited() {
			return fmt.Errorf("hydra exited at start-up: %s", strings.TrimSpace(h.srv.proc.stderr.String()))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(h.admin + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("hydra was not ready after %s: %s", limit, strings.TrimSpace(h.srv.proc.stderr.String()))
}

// target is Hydra's token endpoint and its admin introspection endpoint
// (which takes no client authentication; the credentials sent are
// ignored) with the comparison's client.
func (h *hydra) target() oauthTarget {
	return oauthTarget{srv: h.srv, tokenURL: h.public + "/oauth2/token", introspectURL: h.admin + "/admin/oauth2/introspect",
		clientID: h.conf.ClientID, clientSecret: h.conf.ClientSecret}
}

// registerClient creates the comparison's OAuth client through the admin
// API: confidential (client_secret_basic), authorization code and refresh
// token grants, the same redirect URI as the gateway's load test app.
func (h *hydra) registerClient() error {
	secret := random(32)
	var reg struct {
		ClientID string `json:"client_id"`
	}
	err := sendJSON("POST", h.admin+"/admin/clients", "", map[string]any{
		"client_name": "Load Test", "client_secret": secret,
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"scope": hydraScope, "redirect_uris": []string{appRedirect},
		"token_endpoint_auth_method": "client_secret_basic",
	}, http.StatusCreated, &reg)
	if err != nil {
		return err
	}
	h.conf = &oauth2.Config{ClientID: reg.ClientID, ClientSecret: secret, RedirectURL: appRedirect,
		Scopes: strings.Fields(hydraScope),
		Endpoint: oauth2.Endpoint{AuthURL: h.public + "/oauth2/auth", TokenURL: h.public + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader}}
	return nil
}

// mint runs Hydra's authorization code flow with PKCE, the harness acting
// as Hydra's login and consent app through the admin API (accept the
// login of subject "alice", accept the consent to the whole scope), and
// exchanges the code.
func (h *hydra) mint(ctx context.Context) (*oauth2.Token, error) {
	if h.browser == nil {
		jar, _ := cookiejar.New(nil)
		h.browser = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if !strings.HasPrefix(req.URL.String(), h.public) {
				return http.ErrUseLastResponse // to the login or consent app, or to the client
			}
			return nil
		}}
	}
	verifier, state := oauth2.GenerateVerifier(), random(10)
	next := h.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
	steps := []struct{ param, accept string }{
		{"login_challenge", "/admin/oauth2/auth/requests/login/accept"},
		{"consent_challenge", "/admin/oauth2/auth/requests/consent/accept"},
	}
	bodies := []map[string]any{
		{"subject": "alice"},
		{"grant_scope": strings.Fields(hydraScope), "session": map[string]any{}},
	}
	for i, step := range steps {
		loc, err := h.follow(next)
		if err != nil {
			return nil, err
		}
		challenge := loc.Query().Get(step.param)
		if challenge == "" {
			return nil, fmt.Errorf("hydra sent the browser to %s, not to the %s", loc.Path, strings.TrimSuffix(step.param, "_challenge"))
		}
		var accepted struct {
			RedirectTo string `json:"redirect_to"`
		}
		if err := sendJSON("PUT", h.admin+step.accept+"?"+step.param+"="+url.QueryEscape(challenge), "", bodies[i], http.StatusOK, &accepted); err != nil {
			return nil, err
		}
		next = accepted.RedirectTo
	}
	loc, err := h.follow(next)
	if err != nil {
		return nil, err
	}
	if loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		return nil, fmt.Errorf("hydra's flow did not end with a code: %s %s", loc.Query().Get("error"), loc.Query().Get("error_description"))
	}
	return h.conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
}

// follow GETs u in the browser and returns where Hydra sent it last.
func (h *hydra) follow(u string) (*url.URL, error) {
	resp, err := h.browser.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 3 {
		return nil, fmt.Errorf("hydra answered %d at %s, want a redirect", resp.StatusCode, resp.Request.URL.Path)
	}
	return url.Parse(resp.Header.Get("Location"))
}

// mintMany mints n tokens through Hydra's flow.
func (h *hydra) mintMany(ctx context.Context, n int) ([]*oauth2.Token, error) {
	toks := make([]*oauth2.Token, 0, n)
	for range n {
		t, err := h.mint(ctx)
		if err != nil {
			return nil, fmt.Errorf("hydra: mint a token: %w", err)
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// freePorts reserves n loopback ports by listening and closing.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// hydraRun is what one Hydra setting measured at one client count.
type hydraRun struct {
	setting             hydraSetting
	clients             int
	introspect, refresh figures
}

// compareHydra runs Hydra with each setting in turn (pinned as the gateway
// was), drives at it the introspection and refresh scenarios the gateway
// ran (the same attacks: introspectAttack, refreshAttack) at each client
// count, and prints a table per count: Hydra's figures and the gateway's
// from tables, with the ratio gateway / Hydra (target: at least 10x).
// Hydra's configuration is printed after the tables.
func compareHydra(ctx context.Context, o options, bin string, tables []table) error {
	var runs []hydraRun
	var configs []string
	var key string
	for _, s := range hydraSettings {
		r, conf, k, err := measureHydra(ctx, o, bin, s)
		if err != nil {
			return fmt.Errorf("hydra, %s: %w", s.describe(), err)
		}
		runs = append(runs, r...)
		configs = append(configs, conf)
		key = k
	}
	fmt.Fprintf(o.Out, "Hydra %s (%s) runs `hydra serve all --dev --sqa-opt-out` on loopback, in its own process, pinned as the gateway is, "+
		"on SQLite in a file on tmpfs. Its client is confidential (client_secret_basic) with scope `%s`, so every refresh signs an id_token as the gateway's do "+
		"(Hydra's with %s); "+
		"its tokens come from its authorization code flow with PKCE, this harness accepting the login and consent through Hydra's admin API. "+
		"Introspection is Hydra's admin endpoint (no client authentication); the gateway's is RFC 7662 with client authentication. "+
		"CPU is each server's own process's (Hydra's includes its SQLite, which runs in its process); a gateway on Redis also shows what Redis used meanwhile. Ratios are gateway / Hydra (target ≥ 10×, judged on req/s).\n", hydraVersion, bin, hydraScope, key)
	for _, clients := range o.Clients {
		fmt.Fprintf(o.Out, "\n**against Hydra, %d clients**\n\n", clients)
		fmt.Fprintln(o.Out, "| scenario | target | req/s | p50 | p99 | p99.9 | errors | CPU s / 1,000 req | vs Hydra, "+hydraSettings[0].Name+" | vs Hydra, "+hydraSettings[1].Name+" |")
		fmt.Fprintln(o.Out, "|---|---|---|---|---|---|---|---|---|---|")
		for _, scenario := range []string{scenarioIntrospect, scenarioRefresh} {
			var hy []figures
			for _, r := range runs {
				if r.clients == clients {
					f := r.refresh
					if scenario == scenarioIntrospect {
						f = r.introspect
					}
					hy = append(hy, f)
					printRow(o, scenario, f, "", "")
				}
			}
			for _, t := range tables {
				c, ok := t.rows[scenario]
				if t.clients != clients || !ok {
					continue
				}
				gw := c.gw
				gw.name = "gateway, " + t.store + " store"
				var ratios [2]string
				for i := range min(len(hy), 2) {
					ratios[i] = hydraRatio(gw, hy[i])
				}
				printRow(o, scenario, gw, ratios[0], ratios[1])
			}
		}
	}
	for i, s := range hydraSettings {
		fmt.Fprintf(o.Out, "\nHydra's configuration, %s:\n\n```yaml\n%s```\n", s.describe(), configs[i])
	}
	return nil
}

// measureHydra starts Hydra with one setting, mints o.Tokens access tokens
// through its flow, and at each client count introspects them and runs
// refresh chains from fresh tokens. It returns the figures, Hydra's
// configuration as run (secret redacted) and what signed its id_tokens.
func measureHydra(ctx context.Context, o options, bin string, s hydraSetting) ([]hydraRun, string, string, error) {
	h, err := startHydra(ctx, o, bin, s)
	if err != nil {
		return nil, "", "", err
	}
	defer h.close()
	toks, err := h.mintMany(ctx, o.Tokens)
	if err != nil {
		return nil, "", "", err
	}
	access := make([]string, len(toks))
	for i, t := range toks {
		access[i] = t.AccessToken
	}
	var runs []hydraRun
	var key string
	for _, clients := range o.Clients {
		r := hydraRun{setting: s, clients: clients}
		var sample []byte
		if r.introspect, sample = introspectAttack(o, clients, h.target(), access); sample == nil {
			return nil, "", "", fmt.Errorf("no introspection answered an active token (%d errors)", r.introspect.errors)
		}
		seeds, err := h.mintMany(ctx, clients)
		if err != nil {
			return nil, "", "", err
		}
		refresh := make([]string, len(seeds))
		for i, t := range seeds {
			refresh[i] = t.RefreshToken
		}
		if r.refresh, sample = refreshAttack(o, clients, h.target(), refresh); sample == nil {
			return nil, "", "", fmt.Errorf("no refresh succeeded (%d errors)", r.refresh.errors)
		}
		var answer struct {
			IDToken string `json:"id_token"`
		}
		if json.Unmarshal(sample, &answer) != nil || answer.IDToken == "" {
			return nil, "", "", errors.New("a refresh answered without an id_token: the comparison would not be like for like")
		}
		if key == "" {
			if key, err = signingKey(h.public+"/.well-known/jwks.json", answer.IDToken); err != nil {
				return nil, "", "", fmt.Errorf("the key of Hydra's id_tokens: %w", err)
			}
		}
		runs = append(runs, r)
	}
	return runs, h.config, key, nil
}

// signingKey describes the key that signed a JWT, found by its kid in the
// JWKS at jwksURL: its algorithm and, for RSA, the modulus size.
func signingKey(jwksURL, jwt string) (string, error) {
	head, _, ok := strings.Cut(jwt, ".")
	if !ok {
		return "", errors.New("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", fmt.Errorf("JWT header: %w", err)
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", fmt.Errorf("JWT header: %w", err)
	}
	resp, err := http.Get(jwksURL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return "", fmt.Errorf("JWKS: %w", err)
	}
	for _, k := range set.Keys {
		if k.Kid != h.Kid {
			continue
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if k.Kty != "RSA" || err != nil {
			return h.Alg + " and a " + k.Kty + " key", nil
		}
		return fmt.Sprintf("%s and a %d-bit RSA key", h.Alg, new(big.Int).SetBytes(n).BitLen()), nil
	}
	return "", fmt.Errorf("no key %q in the JWKS", h.Kid)
}

// hydraRatio is the gateway's throughput over Hydra's, its CPU per
// request as a fraction of Hydra's, and the target's verdict.
func hydraRatio(gw, hy figures) string {
	if hy.rate == 0 {
		return "—"
	}
	r := gw.rate / hy.rate
	s := fmt.Sprintf("%.1f× req/s", r)
	if gw.cpuPerK > 0 && hy.cpuPerK > 0 {
		s += fmt.Sprintf(", CPU ÷%.1f", hy.cpuPerK/gw.cpuPerK)
		if gw.storeCounted {
			s += fmt.Sprintf(" (÷%.1f with Redis's)", hy.cpuPerK/gw.totalCPUPerK())
		}
	}
	if r >= 10 {
		return s + " (target ≥ 10×: met)"
	}
	return s + " (target ≥ 10×: not met)"
}
