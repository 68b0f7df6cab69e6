package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// TestHydraConfig: the rendered configuration names every setting the
// comparison relies on (the database, loopback ports, the login and
// consent URLs, the secret hashing), and the printed copy hides the system
// secret.
func TestHydraConfig(t *testing.T) {
	p := hydraPorts{Public: 4444, Admin: 4445, App: "http://127.0.0.1:4446"}
	secret := "0123456789abcdef0123456789abcdef"
	for _, s := range hydraSettings {
		conf := hydraConfig(s, p, hydraDSN("/dev/shm/x"), secret)
		for _, want := range []string{
			"dsn: sqlite:///dev/shm/x/hydra.sqlite?_fk=true&_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate",
			"host: 127.0.0.1\n    port: 4444", "host: 127.0.0.1\n    port: 4445",
			"issuer: http://127.0.0.1:4444", "login: http://127.0.0.1:4446/login", "consent: http://127.0.0.1:4446/consent",
			"algorithm: pbkdf2", "iterations: " + strconv.Itoa(s.Iterations), "- " + secret,
		} {
			if !strings.Contains(conf, want) {
				t.Errorf("%s: config lacks %q:\n%s", s.Name, want, conf)
			}
		}
		if printed := redactHydraConfig(conf, secret); strings.Contains(printed, secret) {
			t.Errorf("%s: the printed config shows the system secret", s.Name)
		}
	}
	if hydraSettings[0].Iterations != 25000 || hydraSettings[1].Iterations != 1 {
		t.Errorf("settings %+v: want Hydra v2.3.0's default (pbkdf2, 25,000 iterations) and its lowest (1)", hydraSettings)
	}
	if got := hydraSettings[0].describe(); got != "hashing as shipped (pbkdf2, 25000 iterations)" {
		t.Errorf("describe: %q", got)
	}
}

// TestHydraBinary: without a binary the comparison is skipped with a line
// that says how to give one; a path that is not an executable file says so.
func TestHydraBinary(t *testing.T) {
	none := func(string) string { return "" }
	if path, skip := hydraBinary("", none); path != "" || !strings.Contains(skip, "-hydra /path/to/hydra") || !strings.Contains(skip, hydraEnvVar) {
		t.Errorf("no binary: %q %q", path, skip)
	}
	dir := t.TempDir()
	notExec := filepath.Join(dir, "hydra")
	if err := os.WriteFile(notExec, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if path, skip := hydraBinary(notExec, none); path != "" || !strings.Contains(skip, "not an executable") {
		t.Errorf("not executable: %q %q", path, skip)
	}
	exe := filepath.Join(dir, "hydra-exe")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == hydraEnvVar {
			return exe
		}
		return ""
	}
	if path, skip := hydraBinary("", env); path != exe || skip != "" {
		t.Errorf("from %s: %q %q", hydraEnvVar, path, skip)
	}
	if path, _ := hydraBinary(notExec, env); path != "" {
		t.Errorf("-hydra did not win over %s", hydraEnvVar)
	}
}

// TestHydraRatio: the ratio is the gateway's req/s over Hydra's, with the
// target's verdict.
func TestHydraRatio(t *testing.T) {
	if got := hydraRatio(figures{rate: 1000, cpuPerK: 1}, figures{rate: 50, cpuPerK: 12}); got != "20.0× req/s, CPU ÷12.0 (target ≥ 10×: met)" {
		t.Errorf("20x: %q", got)
	}
	if got := hydraRatio(figures{rate: 300, cpuPerK: -1}, figures{rate: 50, cpuPerK: 12}); got != "6.0× req/s (target ≥ 10×: not met)" {
		t.Errorf("6x: %q", got)
	}
	withRedis := figures{rate: 1000, cpuPerK: 1, storeCPUPerK: 0.5, storeCounted: true}
	if got := hydraRatio(withRedis, figures{rate: 50, cpuPerK: 12}); got != "20.0× req/s, CPU ÷12.0 (÷8.0 with Redis's) (target ≥ 10×: met)" {
		t.Errorf("with Redis's CPU: %q", got)
	}
	if got := hydraRatio(figures{rate: 300}, figures{}); got != "—" {
		t.Errorf("no Hydra figure: %q", got)
	}
}

// TestSigningKey names the algorithm and the RSA modulus size of the key
// a JWT's kid points at in a JWKS.
func TestSigningKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := fmt.Sprintf(`{"keys":[{"kid":"other","kty":"EC"},{"kid":"k1","kty":"RSA","n":%q,"e":"AQAB"}]}`,
		base64.RawURLEncoding.EncodeToString(key.N.Bytes()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(jwks)) }))
	defer srv.Close()
	jwt := func(header string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(header)) + ".e30.sig"
	}
	if got, err := signingKey(srv.URL, jwt(`{"alg":"RS256","kid":"k1"}`)); err != nil || got != "RS256 and a 2048-bit RSA key" {
		t.Errorf("RSA key: %q %v", got, err)
	}
	if _, err := signingKey(srv.URL, jwt(`{"alg":"RS256","kid":"gone"}`)); err == nil {
		t.Error("a kid not in the JWKS was described")
	}
	if _, err := signingKey(srv.URL, "not a jwt"); err == nil {
		t.Error("a string that is not a JWT was described")
	}
}

// TestHydraAgainstBinary runs the comparison for a moment against a real
// Hydra when HYDRA_BIN names one (see README, "Against ORY Hydra"): both
// settings start, mint tokens through Hydra's flow, answer introspection
// and refresh chains without an error, and the table compares them with
// the gateway's figures. It is skipped otherwise, saying so.
func TestHydraAgainstBinary(t *testing.T) {
	bin, skip := hydraBinary("", os.Getenv)
	if bin == "" {
		t.Skip(skip)
	}
	var out bytes.Buffer
	o := smokeOptions(&out)
	o.Duration = 300 * time.Millisecond
	if o.Pin {
		p, err := pin()
		if err != nil {
			t.Fatal(err)
		}
		defer p.unpin()
		o.pin = p
	}
	gw := figures{name: "gateway", rate: 1000, cpuPerK: 0.5}
	tables := []table{{store: "memory", clients: 2, rows: map[string]comparison{scenarioRefresh: {gw: gw}, scenarioIntrospect: {gw: gw}}}}
	if err := compareHydra(context.Background(), o, bin, tables); err != nil {
		t.Fatalf("compareHydra: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{"| introspection | Hydra, hashing as shipped (pbkdf2, 25000 iterations) |",
		"| refresh grant | Hydra, hashing turned down (pbkdf2, 1 iteration) |",
		"| refresh grant | gateway, memory store | 1000 |", "iterations: 25000\n", "iterations: 1\n",
		"(Hydra's with RS256 and a 4096-bit RSA key)"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "| Hydra,") && !strings.Contains(line, "| 0 |") {
			t.Errorf("Hydra answered errors: %s", line)
		}
	}
}

// TestParseRedisCPU sums Redis's system and user CPU from INFO cpu, and
// refuses an answer without them.
func TestParseRedisCPU(t *testing.T) {
	info := "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.250000\r\nused_cpu_sys_children:9.000000\r\nused_cpu_user_children:9.000000\r\n"
	got, err := parseRedisCPU(info)
	if err != nil || got != 3750*time.Millisecond {
		t.Errorf("parseRedisCPU = %v, %v; want 3.75s", got, err)
	}
	for _, bad := range []string{"", "# CPU\r\nused_cpu_sys:1.5\r\n", "used_cpu_sys:x\r\nused_cpu_user:1\r\n"} {
		if _, err := parseRedisCPU(bad); err == nil {
			t.Errorf("parseRedisCPU(%q): no error", bad)
		}
	}
}

// TestRedisCPU reads a real Redis's CPU time: it is there and does not go
// back. Without Redis the test fails in CI and skips locally.
func TestRedisCPU(t *testing.T) {
	u := os.Getenv("GATEWAY_TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/15"
	}
	read, closeInfo, err := redisCPU(u)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis at %s: %v", u, err)
		}
		t.Skipf("redis at %s does not answer (set CI=1 to fail instead): %v", u, err)
	}
	defer closeInfo()
	first, err := read()
	if err != nil || first <= 0 {
		t.Fatalf("first read: %v, %v", first, err)
	}
	second, err := read()
	if err != nil || second < first {
		t.Errorf("second read: %v, %v; first %v", second, err, first)
	}
}

// TestGetTargeterTakesTokensInTurn: the gateway's reads carry each of the
// tokens in turn; the baselines' carry none.
func TestGetTargeterTakesTokensInTurn(t *testing.T) {
	tg := getTargeter("http://gw/fhir/Patient/p1", []string{"a", "b", "c"})
	var got []string
	for range 6 {
		var target vegeta.Target
		if err := tg(&target); err != nil {
			t.Fatal(err)
		}
		if target.URL != "http://gw/fhir/Patient/p1" || target.Method != "GET" {
			t.Fatalf("target %s %s", target.Method, target.URL)
		}
		got = append(got, target.Header.Get("Authorization"))
	}
	want := []string{"Bearer a", "Bearer b", "Bearer c", "Bearer a", "Bearer b", "Bearer c"}
	if !slices.Equal(got, want) {
		t.Errorf("bearers %q, want %q", got, want)
	}
	var plain vegeta.Target
	if err := getTargeter("http://plain/x", nil)(&plain); err != nil || plain.Header.Get("Authorization") != "" {
		t.Errorf("baseline target %+v, %v", plain, err)
	}
}
