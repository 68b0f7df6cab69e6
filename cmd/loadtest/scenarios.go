package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// server is one server under test: where it answers, and the process it
// runs in (its CPU time and peak RSS are read from /proc). proc is nil for
// a server the harness did not start; its CPU is then not reported.
type server struct {
	name string // as printed in the target column
	base string // http://host:port
	proc *child
	// storeCPU, when set (a gateway on Redis), reads the CPU time its
	// store's server has used (redisCPU).
	storeCPU func() (time.Duration, error)
	// profile, when set (a gateway run with -cpu-profiles), takes a CPU
	// profile of the server for the given time.
	profile func(d time.Duration) ([]byte, error)
}

// figures are what one attack measured.
type figures struct {
	name     string
	rate     float64 // successful requests per second
	p50, p99 time.Duration
	p999     time.Duration
	errors   int
	cpuPerK  float64 // CPU seconds of the server's own process per 1,000 requests; negative: unknown
	// storeCPUPerK is the CPU seconds its store's server (Redis) used per
	// 1,000 requests, when storeCounted.
	storeCPUPerK float64
	storeCounted bool
	requests     int
}

// table is what one store at one client count measured, by scenario.
type table struct {
	store   string
	clients int
	rows    map[string]comparison
	peaks   []rss // the gateway processes' peak RSS once the table was measured
}

// comparison is one scenario's three rows.
type comparison struct {
	plain, proxy, gw figures
}

// oauthTarget is an authorization server under test for the token and
// introspection scenarios: where its endpoints are, the confidential
// client that calls them and the tokens it was issued. The gateway is
// one; another authorization server (ORY Hydra) plugs in the same way.
type oauthTarget struct {
	srv           *server
	tokenURL      string
	introspectURL string
	clientID      string
	clientSecret  string
}

// scenarios runs every scenario against e with the given number of
// clients, prints its table and returns it.
func scenarios(ctx context.Context, e *env, o options, clients int, access []string) (table, error) {
	t := table{store: e.store, clients: clients, rows: map[string]comparison{}}
	fmt.Fprintf(o.Out, "\n**%s store, %s**\n\n", e.store, countOf(clients, "client"))
	fmt.Fprintln(o.Out, "| scenario | target | req/s | p50 | p99 | p99.9 | errors | CPU s / 1,000 req | vs bare proxy | vs plain handler |")
	fmt.Fprintln(o.Out, "|---|---|---|---|---|---|---|---|---|---|")
	reads := []struct{ name, path string }{
		{scenarioRead, "/fhir/Patient/" + e.patient},
		{scenarioSearch, "/fhir/ExplanationOfBenefit?patient=" + e.patient + "&_count=20"},
	}
	for _, r := range reads {
		c, err := readScenario(ctx, o, clients, e.srv, r.name, r.path, access)
		if err != nil {
			return t, fmt.Errorf("%s: %w", r.name, err)
		}
		printRows(o, r.name, c)
		t.rows[r.name] = c
	}
	target := e.oauthTarget()
	c, err := introspectScenario(ctx, o, clients, target, access)
	if err != nil {
		return t, fmt.Errorf("introspection: %w", err)
	}
	printRows(o, scenarioIntrospect, c)
	t.rows[scenarioIntrospect] = c
	seeds, err := e.mintMany(ctx, clients)
	if err != nil {
		return t, err
	}
	refresh := make([]string, len(seeds))
	for i, s := range seeds {
		refresh[i] = s.RefreshToken
	}
	if c, err = refreshScenario(ctx, o, clients, target, refresh); err != nil {
		return t, fmt.Errorf("refresh grants: %w", err)
	}
	printRows(o, scenarioRefresh, c)
	t.rows[scenarioRefresh] = c
	return t, nil
}

// The scenarios' names, as printed.
const (
	scenarioRead       = "FHIR read by id"
	scenarioSearch     = "EOB search by patient (20 a page)"
	scenarioIntrospect = "introspection"
	scenarioRefresh    = "refresh grant"
)

// oauthTarget is the gateway's token and introspection endpoints with the
// load test's app.
func (e *env) oauthTarget() oauthTarget {
	return oauthTarget{srv: e.srv, tokenURL: e.base + "/oauth/token", introspectURL: e.base + "/oauth/introspect",
		clientID: e.conf.ClientID, clientSecret: e.conf.ClientSecret}
}

// readScenario compares a token-bearing GET through the gateway with a
// plain handler serving the same bytes and a bare ReverseProxy in front
// of that handler, each in a process of its own. The gateway's requests
// carry the tokens in turn, as an app's members' calls would: the
// gateway must not be measured on the one token it has just seen.
func readScenario(ctx context.Context, o options, clients int, gw *server, name, path string, tokens []string) (comparison, error) {
	body, ctype, err := capture(gw.base+path, tokens[0])
	if err != nil {
		return comparison{}, err
	}
	return withBaselines(ctx, o, []route{{Path: "*", ContentType: ctype, Body: body}}, func(plain, proxy *server) comparison {
		return comparison{
			plain: attack(o, clients, plain, name, getTargeter(plain.base+path, nil), nil),
			proxy: attack(o, clients, proxy, name, getTargeter(proxy.base+path, nil), nil),
			gw:    attack(o, clients, gw, name, getTargeter(gw.base+path, tokens), nil),
		}
	})
}

// getTargeter GETs u, with each of the bearer tokens in turn when there
// are any.
func getTargeter(u string, tokens []string) vegeta.Targeter {
	if len(tokens) == 0 {
		return vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: u, Header: http.Header{}})
	}
	targets := make([]vegeta.Target, len(tokens))
	for i, tok := range tokens {
		targets[i] = vegeta.Target{Method: "GET", URL: u, Header: http.Header{"Authorization": {"Bearer " + tok}}}
	}
	return vegeta.NewStaticTargeter(targets...)
}

// withBaselines starts a plain handler serving routes and a bare
// ReverseProxy in front of it, runs measure, and stops both.
func withBaselines(ctx context.Context, o options, routes []route, measure func(plain, proxy *server) comparison) (comparison, error) {
	plain, err := startPlain(ctx, o, "plain handler", routes)
	if err != nil {
		return comparison{}, err
	}
	defer plain.proc.stop()
	proxy, err := startProxy(ctx, o, "bare ReverseProxy", plain.base)
	if err != nil {
		return comparison{}, err
	}
	defer proxy.proc.stop()
	return measure(plain, proxy), nil
}

// introspectScenario has the app introspect its live access tokens in
// turn, as a resource server checking the tokens it is shown, against a
// plain handler answering the same bytes.
func introspectScenario(ctx context.Context, o options, clients int, t oauthTarget, tokens []string) (comparison, error) {
	g, sample := introspectAttack(o, clients, t, tokens)
	if sample == nil {
		return comparison{}, fmt.Errorf("no introspection answered an active token (%d errors)", g.errors)
	}
	hdr := formHeader(t.clientID, t.clientSecret)
	post := func(base string) vegeta.Targeter {
		return vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: base + "/oauth/introspect", Header: hdr,
			Body: []byte(url.Values{"token": {tokens[0]}}.Encode())})
	}
	return withBaselines(ctx, o, []route{{Path: "*", ContentType: "application/json", Body: sample}}, func(plain, proxy *server) comparison {
		return comparison{
			plain: attack(o, clients, plain, scenarioIntrospect, post(plain.base), nil),
			proxy: attack(o, clients, proxy, scenarioIntrospect, post(proxy.base), nil),
			gw:    g,
		}
	})
}

// introspectAttack introspects tokens round-robin at t's introspection
// endpoint. An answer that is not an active token counts as an error. It
// returns the figures and one active answer's bytes.
func introspectAttack(o options, clients int, t oauthTarget, tokens []string) (figures, []byte) {
	hdr := formHeader(t.clientID, t.clientSecret)
	targets := make([]vegeta.Target, len(tokens))
	for i, tok := range tokens {
		targets[i] = vegeta.Target{Method: "POST", URL: t.introspectURL, Header: hdr, Body: []byte(url.Values{"token": {tok}}.Encode())}
	}
	var sample []byte
	active := func(r *vegeta.Result) {
		var resp struct {
			Active bool `json:"active"`
		}
		if r.Code == http.StatusOK && (json.Unmarshal(r.Body, &resp) != nil || !resp.Active) {
			r.Code, r.Error = 0, "inactive token"
		} else if r.Code == http.StatusOK && sample == nil {
			sample = r.Body
		}
	}
	return attack(o, clients, t.srv, scenarioIntrospect, vegeta.NewStaticTargeter(targets...), active), sample
}

// refreshScenario runs chains of refresh grants (each answer's refresh
// token is the next request's), one chain per client, against a plain
// handler answering the same bytes.
func refreshScenario(ctx context.Context, o options, clients int, t oauthTarget, seeds []string) (comparison, error) {
	g, sample := refreshAttack(o, clients, t, seeds)
	if sample == nil {
		return comparison{}, fmt.Errorf("no refresh succeeded (%d errors)", g.errors)
	}
	hdr := formHeader(t.clientID, t.clientSecret)
	post := func(base string) vegeta.Targeter {
		return vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: base + "/oauth/token", Header: hdr,
			Body: []byte("grant_type=refresh_token&refresh_token=x")})
	}
	return withBaselines(ctx, o, []route{{Path: "*", ContentType: "application/json", Body: sample}}, func(plain, proxy *server) comparison {
		return comparison{
			plain: attack(o, clients, plain, scenarioRefresh, post(plain.base), nil),
			proxy: attack(o, clients, proxy, scenarioRefresh, post(proxy.base), nil),
			gw:    g,
		}
	})
}

// refreshAttack runs refresh chains at t's token endpoint, one per seed
// refresh token. It returns the figures and one successful answer's bytes.
func refreshAttack(o options, clients int, t oauthTarget, seeds []string) (figures, []byte) {
	chain := make(chan string, len(seeds))
	for _, s := range seeds {
		chain <- s
	}
	hdr := formHeader(t.clientID, t.clientSecret)
	targeter := func(tgt *vegeta.Target) error {
		select {
		case rt := <-chain:
			*tgt = vegeta.Target{Method: "POST", URL: t.tokenURL, Header: hdr,
				Body: []byte(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode())}
			return nil
		case <-time.After(2 * time.Second):
			return vegeta.ErrNoTargets
		}
	}
	var sample []byte
	next := func(r *vegeta.Result) {
		var resp struct {
			RefreshToken string `json:"refresh_token"`
		}
		if r.Code == http.StatusOK && json.Unmarshal(r.Body, &resp) == nil && resp.RefreshToken != "" {
			if sample == nil {
				sample = r.Body
			}
			select {
			case chain <- resp.RefreshToken:
			default:
			}
		}
	}
	return attack(o, clients, t.srv, scenarioRefresh, targeter, next), sample
}

// formHeader is a form post's headers with HTTP Basic client credentials.
func formHeader(id, secret string) http.Header {
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	hdr.Set("Authorization", "Basic "+basic(id, secret))
	return hdr
}

// capture reads the bytes the gateway answers, for the baselines to serve.
func capture(u, token string) ([]byte, string, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %d %.200s", u, resp.StatusCode, body)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// attack runs a closed loop of clients for o.Duration against srv and
// reads the CPU time srv's process used meanwhile. With -cpu-profiles, a
// gateway is profiled for the attack's duration (cpuProfile).
func attack(o options, clients int, srv *server, scenario string, t vegeta.Targeter, each func(*vegeta.Result)) figures {
	a := vegeta.NewAttacker(vegeta.Workers(uint64(clients)), vegeta.MaxWorkers(uint64(clients)),
		vegeta.Connections(clients), vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second))
	if srv.profile != nil && o.CPUProfiles != "" {
		defer cpuProfile(o, srv, clients, scenario)()
	}
	var cpu0, store0 time.Duration
	if srv.proc != nil {
		cpu0 = srv.proc.cpu()
	}
	storeCPU := srv.storeCPU
	if storeCPU != nil {
		var err error
		if store0, err = storeCPU(); err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: %s: %v; its store's CPU is not counted\n", srv.name, err)
			storeCPU = nil
		}
	}
	var m vegeta.Metrics
	for r := range a.Attack(t, vegeta.Rate{Freq: 0}, o.Duration, srv.name) {
		if each != nil {
			each(r)
		}
		m.Add(r)
	}
	m.Close()
	f := figures{name: srv.name, p50: m.Latencies.P50, p99: m.Latencies.P99, p999: m.Latencies.Quantile(0.999),
		requests: int(m.Requests), errors: int(m.Requests) - int(float64(m.Requests)*m.Success+0.5), cpuPerK: -1}
	f.rate = m.Throughput
	if srv.proc != nil && m.Requests > 0 {
		f.cpuPerK = (srv.proc.cpu() - cpu0).Seconds() / float64(m.Requests) * 1000
	}
	if storeCPU != nil && m.Requests > 0 {
		if store1, err := storeCPU(); err == nil {
			f.storeCPUPerK = (store1 - store0).Seconds() / float64(m.Requests) * 1000
			f.storeCounted = true
		} else {
			fmt.Fprintf(os.Stderr, "loadtest: %s: %v; its store's CPU is not counted\n", srv.name, err)
		}
	}
	return f
}

// printRows prints the plain handler, the bare proxy and the gateway,
// each ratio to the line it names.
func printRows(o options, scenario string, c comparison) {
	printRow(o, scenario, c.plain, "", "")
	printRow(o, scenario, c.proxy, "", ratio(c.proxy, c.plain))
	printRow(o, scenario, c.gw, ratio(c.gw, c.proxy), ratio(c.gw, c.plain))
}

// printRow prints one measured line with its two ratio columns.
func printRow(o options, scenario string, f figures, vsProxy, vsPlain string) {
	cpu := "—"
	if f.cpuPerK >= 0 {
		cpu = strconv.FormatFloat(f.cpuPerK, 'f', 3, 64)
		if f.storeCounted {
			cpu += " + " + strconv.FormatFloat(f.storeCPUPerK, 'f', 3, 64) + " Redis"
		}
	}
	fmt.Fprintf(o.Out, "| %s | %s | %.0f | %s | %s | %s | %d | %s | %s | %s |\n", scenario, f.name, f.rate,
		ms(f.p50), ms(f.p99), ms(f.p999), f.errors, cpu, vsProxy, vsPlain)
}

// ratio is a's throughput, p99 and CPU as multiples of b's.
func ratio(a, b figures) string {
	if b.rate == 0 || b.p99 == 0 {
		return "—"
	}
	s := fmt.Sprintf("%.2f× req/s, p99 %.2f×", a.rate/b.rate, float64(a.p99)/float64(b.p99))
	if a.cpuPerK >= 0 && b.cpuPerK > 0 {
		s += fmt.Sprintf(", CPU %.2f×", a.cpuPerK/b.cpuPerK)
		if a.storeCounted {
			s += fmt.Sprintf(" (%.2f× with Redis's)", a.totalCPUPerK()/b.totalCPUPerK())
		}
	}
	return s
}

// totalCPUPerK is the CPU seconds per 1,000 requests of the server's
// process and its store's server together (negative: unknown).
func (f figures) totalCPUPerK() float64 {
	if f.cpuPerK < 0 || !f.storeCounted {
		return f.cpuPerK
	}
	return f.cpuPerK + f.storeCPUPerK
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

func basic(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}

// joinInts prints a list of counts.
func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// countOf is n and the noun, with an s unless n is 1.
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// cpuProfile starts taking srv's CPU profile for o.Duration (the
// gateway's profiler, behind its admin token) and returns a function that
// waits for it and writes it to o.CPUProfiles as
// cpu-PROCESS-CLIENTSc-SCENARIO.pprof. A failure is printed, not fatal:
// the figures stand without it (though a profiled attack's CPU includes
// the profiler's sampling, about 1%).
func cpuProfile(o options, srv *server, clients int, scenario string) (wait func()) {
	name := fmt.Sprintf("cpu-%s-%dc-%s.pprof", slug(srv.proc.name), clients, slug(scenario))
	done := make(chan error, 1)
	go func() {
		b, err := srv.profile(o.Duration)
		if err == nil {
			err = os.WriteFile(filepath.Join(o.CPUProfiles, name), b, 0o644)
		}
		done <- err
	}()
	return func() {
		if err := <-done; err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: CPU profile %s: %v\n", name, err)
		}
	}
}

// slug is s in lowercase letters, digits and dashes, for a file name.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
