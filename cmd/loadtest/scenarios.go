package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// figures are what one attack measured.
type figures struct {
	name     string
	rate     float64 // successful requests per second
	p50, p99 time.Duration
	p999     time.Duration
	errors   int
	cpuPerK  float64 // CPU seconds of this process per 1,000 requests
	requests int
}

// scenarios runs every scenario against env and prints its table.
func scenarios(ctx context.Context, e *env, o options) error {
	fmt.Fprintf(o.Out, "\n## %s store\n\n", e.store)
	fmt.Fprintln(o.Out, "| scenario | target | req/s | p50 | p99 | p99.9 | errors | CPU s / 1,000 req | vs bare proxy | vs plain handler |")
	fmt.Fprintln(o.Out, "|---|---|---|---|---|---|---|---|---|---|")
	tok, err := e.mint(ctx)
	if err != nil {
		return fmt.Errorf("mint a token: %w", err)
	}
	reads := []struct{ name, path string }{
		{"FHIR read by id", "/fhir/Patient/" + e.patient},
		{"EOB search by patient (20 a page)", "/fhir/ExplanationOfBenefit?patient=" + e.patient + "&_count=20"},
	}
	for _, r := range reads {
		if err := readScenario(e, o, r.name, r.path, tok.AccessToken); err != nil {
			return err
		}
	}
	return refreshScenario(ctx, e, o)
}

// readScenario compares a token-bearing GET through the gateway with a
// plain handler serving the same bytes and a bare ReverseProxy in front
// of that handler.
func readScenario(e *env, o options, name, path, token string) error {
	body, ctype, err := capture(e.base+path, token)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	plain, proxy := baselines(body, ctype)
	defer plain.Close()
	defer proxy.Close()
	get := func(base string, bearer bool) vegeta.Targeter {
		t := vegeta.Target{Method: "GET", URL: base + path, Header: http.Header{}}
		if bearer {
			t.Header.Set("Authorization", "Bearer "+token)
		}
		return vegeta.NewStaticTargeter(t)
	}
	p := attack(o, "plain handler", get(plain.URL, false), nil)
	x := attack(o, "bare ReverseProxy", get(proxy.URL, false), nil)
	g := attack(o, "gateway", get(e.base, true), nil)
	printRows(o, name, p, x, g)
	return nil
}

// refreshScenario runs chains of refresh grants (each answer's refresh
// token is the next request's), one chain per client, against a plain
// handler answering the same bytes.
func refreshScenario(ctx context.Context, e *env, o options) error {
	chain := make(chan string, o.Clients)
	var sample []byte
	for range o.Clients {
		tok, err := e.mint(ctx)
		if err != nil {
			return fmt.Errorf("mint a token: %w", err)
		}
		chain <- tok.RefreshToken
	}
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	hdr.Set("Authorization", "Basic "+basic(e.conf.ClientID, e.conf.ClientSecret))
	targeter := func(base string) vegeta.Targeter {
		return func(t *vegeta.Target) error {
			select {
			case rt := <-chain:
				*t = vegeta.Target{Method: "POST", URL: base + "/oauth/token", Header: hdr,
					Body: []byte(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode())}
				return nil
			case <-time.After(2 * time.Second):
				return vegeta.ErrNoTargets
			}
		}
	}
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
	g := attack(o, "gateway", targeter(e.base), next)
	if sample == nil {
		return fmt.Errorf("refresh grants: no refresh succeeded (%d errors)", g.errors)
	}
	plain, proxy := baselines(sample, "application/json")
	defer plain.Close()
	defer proxy.Close()
	post := func(base string) vegeta.Targeter {
		return vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: base + "/oauth/token", Header: hdr,
			Body: []byte("grant_type=refresh_token&refresh_token=x")})
	}
	p := attack(o, "plain handler", post(plain.URL), nil)
	x := attack(o, "bare ReverseProxy", post(proxy.URL), nil)
	printRows(o, "refresh grant", p, x, g)
	return nil
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

// baselines starts, on loopback, a plain handler serving body and a bare
// ReverseProxy in front of it.
func baselines(body []byte, ctype string) (plain, proxy *httptest.Server) {
	plain = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ctype)
		_, _ = w.Write(body)
	}))
	target, _ := url.Parse(plain.URL)
	proxy = httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: &http.Transport{MaxIdleConnsPerHost: 256},
	})
	return plain, proxy
}

// attack runs a closed loop of o.Clients clients for o.Duration.
func attack(o options, name string, t vegeta.Targeter, each func(*vegeta.Result)) figures {
	a := vegeta.NewAttacker(vegeta.Workers(uint64(o.Clients)), vegeta.MaxWorkers(uint64(o.Clients)),
		vegeta.Connections(o.Clients), vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second))
	cpu0 := cpuTime()
	var m vegeta.Metrics
	for r := range a.Attack(t, vegeta.Rate{Freq: 0}, o.Duration, name) {
		if each != nil {
			each(r)
		}
		m.Add(r)
	}
	m.Close()
	cpu := cpuTime() - cpu0
	f := figures{name: name, p50: m.Latencies.P50, p99: m.Latencies.P99, p999: m.Latencies.Quantile(0.999),
		requests: int(m.Requests), errors: int(m.Requests) - int(float64(m.Requests)*m.Success+0.5)}
	f.rate = m.Throughput
	if m.Requests > 0 {
		f.cpuPerK = cpu.Seconds() / float64(m.Requests) * 1000
	}
	return f
}

// printRows prints the plain handler, the bare proxy and the gateway,
// each ratio to the line it names.
func printRows(o options, scenario string, plain, proxy, gw figures) {
	row := func(f figures, vsProxy, vsPlain string) {
		fmt.Fprintf(o.Out, "| %s | %s | %.0f | %s | %s | %s | %d | %.3f | %s | %s |\n", scenario, f.name, f.rate,
			ms(f.p50), ms(f.p99), ms(f.p999), f.errors, f.cpuPerK, vsProxy, vsPlain)
	}
	ratio := func(a, b figures) string {
		if b.rate == 0 || b.p99 == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f× req/s, p99 %.2f×, CPU %.2f×", a.rate/b.rate, float64(a.p99)/float64(b.p99), a.cpuPerK/max(b.cpuPerK, 1e-9))
	}
	row(plain, "", "")
	row(proxy, "", ratio(proxy, plain))
	row(gw, ratio(gw, proxy), ratio(gw, plain))
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

func basic(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}

// cpuTime is the CPU time this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSMB is the process's peak resident set (VmHWM), in MB.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
