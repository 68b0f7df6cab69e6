package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	switch os.Getenv(roleEnv) {
	case roleGateway:
		os.Exit(serveGateway())
	case roleHarness:
		os.Exit(harnessWithChildren())
	}
	if serveRole() {
		return
	}
	os.Exit(m.Run())
}

// roleHarness runs the test binary as a harness that has started a plain
// handler and a bare proxy and then waits to be interrupted or killed.
const roleHarness = "test-harness"

// harnessWithChildren starts two children as run does, writes their pids
// to LOADTEST_PIDS, and waits; on SIGINT its interrupt cleanup writes
// LOADTEST_CLEANED before it exits.
func harnessWithChildren() int {
	stop := killChildrenOnSignal()
	defer stop()
	defer onInterrupt(func() { _ = os.WriteFile(os.Getenv("LOADTEST_CLEANED"), []byte("cleaned"), 0o600) })()
	tmp, err := os.MkdirTemp("", "pag-loadtest-")
	if err != nil {
		return 1
	}
	defer os.RemoveAll(tmp)
	o := options{tmp: tmp}
	if canPin() {
		o.pin = &pinning{on: true, taskset: "taskset"}
	}
	plain, err := startPlain(context.Background(), o, "plain handler", []route{{Path: "*", Body: []byte("ok")}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	proxy, err := startProxy(context.Background(), o, "bare ReverseProxy", plain.base)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pids := fmt.Sprintf("%d %d\n", plain.proc.pid(), proxy.proc.pid())
	if err := os.WriteFile(os.Getenv("LOADTEST_PIDS"), []byte(pids), 0o600); err != nil {
		return 1
	}
	time.Sleep(time.Minute)
	return 0
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
// gateway; every process it started is gone when it returns. With
// -cpu-profiles, each gateway attack leaves a CPU profile (gzipped
// protobuf, as pprof writes) named for the process, the client count and
// the scenario.
func TestSmoke(t *testing.T) {
	var out bytes.Buffer
	var pids []int
	trackChildren = func(c *child) { pids = append(pids, c.pid()) }
	defer func() { trackChildren = nil }()
	o := smokeOptions(&out)
	o.CPUProfiles = filepath.Join(t.TempDir(), "profiles")
	if err := run(context.Background(), o); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, name := range []string{
		"cpu-gateway-memory-store-2c-fhir-read-by-id.pprof",
		"cpu-gateway-memory-store-2c-eob-search-by-patient-20-a-page.pprof",
		"cpu-gateway-memory-store-2c-introspection.pprof",
		"cpu-gateway-memory-store-2c-refresh-grant.pprof",
		"cpu-gateway-memory-store-upstream-mode-2c-upstream-fhir-read-by-id.pprof",
	} {
		b, err := os.ReadFile(filepath.Join(o.CPUProfiles, name))
		if err != nil {
			t.Errorf("profile: %v", err)
		} else if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s is not a gzipped profile: %.40q", name, b)
		}
	}
	text := out.String()
	for _, want := range []string{scenarioRead, scenarioSearch, scenarioIntrospect, scenarioRefresh, "bare ReverseProxy", "plain handler",
		scenarioUpstreamRead, scenarioUpstreamSearch, "upstream FHIR server", "gateway in upstream mode",
		"Peak RSS", "own process", "Load average at start", "CPU profiles of the gateway attacks written to", "Targets, memory store, 2 clients", "FHIR read ≥ 0.9× bare proxy req/s"} {
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

// TestChildrenDieWithHarness: the servers a harness started do not outlive
// it, whether it is interrupted (it kills them and runs its cleanups, such
// as deleting its Redis keys) or killed outright (the kernel kills them:
// PR_SET_PDEATHSIG).
func TestChildrenDieWithHarness(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			pidFile, cleaned := filepath.Join(dir, "pids"), filepath.Join(dir, "cleaned")
			cmd := exec.Command(self)
			cmd.Env = append(childEnv(), roleEnv+"="+roleHarness, "LOADTEST_PIDS="+pidFile, "LOADTEST_CLEANED="+cleaned)
			var stderr syncBuffer // read while the harness may still write
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill() }()
			var pids []int
			for deadline := time.Now().Add(2 * time.Minute); len(pids) < 2; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the harness started no children: %s", stderr.String())
				}
				b, _ := os.ReadFile(pidFile)
				pids = nil
				for _, f := range strings.Fields(string(b)) {
					pid, _ := strconv.Atoi(f)
					pids = append(pids, pid)
				}
			}
			for _, pid := range pids {
				if !alive(pid) {
					t.Fatalf("child %d is not running before the signal", pid)
				}
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			for _, pid := range pids {
				for deadline := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("child %d still runs 10 s after the harness got %s", pid, sig)
					}
				}
			}
			if _, err := os.Stat(cleaned); sig == syscall.SIGINT && err != nil {
				t.Errorf("the interrupted harness did not run its cleanups: %v (%s)", err, stderr.String())
			}
		})
	}
}

// alive reports whether pid runs (a zombie, dead but not yet reaped,
// does not count).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
