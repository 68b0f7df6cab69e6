package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patientaccess/gateway/gateway"
)

// roleGateway runs the test binary as a gateway (the gateway package's
// own New and Serve, as `gateway serve` does), so the smoke test need not
// build cmd/gateway.
const roleGateway = "gateway"

func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == roleGateway {
		os.Exit(serveGateway())
	}
	if serveRole() {
		return
	}
	os.Exit(m.Run())
}

// serveGateway is `gateway serve` without the banner and telemetry.
func serveGateway() int {
	cfg, err := gateway.ParseConfig(nil, os.Getenv, os.Stderr) // the "serve" argument is the test binary's to ignore
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway: configuration:", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ctx := context.Background()
	g, err := gateway.New(ctx, cfg, gateway.Options{Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 1
	}
	defer g.Close()
	if err := g.Serve(ctx, logger); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 1
	}
	return 0
}

// smokeOptions is a run of a moment on the embedded store, with this test
// binary as the gateway.
func smokeOptions(out io.Writer) options {
	self, _ := os.Executable()
	return options{Duration: 100 * time.Millisecond, Clients: []int{2}, Tokens: 3, Stores: []string{"memory"}, Out: out,
		Pin: canPin(), gateway: gatewayBinary{path: self, env: []string{roleEnv + "=" + roleGateway}}}
}

// TestSmoke runs the harness for a moment on the embedded store: it
// starts the processes, mints tokens through the real flow, drives every
// scenario and prints a row for each target with no errors through the
// gateway; every process it started is gone when it returns.
func TestSmoke(t *testing.T) {
	var out bytes.Buffer
	var pids []int
	trackChildren = func(c *child) { pids = append(pids, c.pid()) }
	defer func() { trackChildren = nil }()
	if err := run(context.Background(), smokeOptions(&out)); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{scenarioRead, scenarioSearch, scenarioIntrospect, scenarioRefresh, "bare ReverseProxy", "plain handler",
		scenarioUpstreamRead, scenarioUpstreamSearch, "upstream FHIR server", "gateway in upstream mode",
		"Peak RSS", "own process", "Targets, memory store, 2 clients", "FHIR read ≥ 0.9× bare proxy req/s"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "| gateway") && !strings.Contains(line, "| 0 |") {
			t.Errorf("the gateway answered errors: %s", line)
		}
	}
	if len(pids) < 3 {
		t.Errorf("started %d processes, want the gateway and at least a plain handler and a proxy", len(pids))
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still runs after run returned", pid)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Log(text)
	}
}

// TestBounds: an unbounded run is refused before anything starts.
func TestBounds(t *testing.T) {
	for _, o := range []options{
		{Duration: time.Hour, Clients: []int{2}, Tokens: 1},
		{Duration: time.Second, Clients: []int{257}, Tokens: 1},
		{Duration: time.Second, Clients: []int{0}, Tokens: 1},
		{Duration: time.Second, Clients: []int{2}, Tokens: 5000},
		{Duration: time.Second, Clients: []int{2}, Tokens: 1, Stores: []string{"etcd"}},
	} {
		o.Out = io.Discard
		if err := run(context.Background(), o); err == nil {
			t.Errorf("run(%+v) was accepted", o)
		}
	}
}
