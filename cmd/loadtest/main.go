// Command loadtest drives the gateway with the vegeta load generator, on
// loopback only, and prints each figure as a ratio to baselines measured
// in the same run: a plain handler serving the same bytes, and a bare
// httputil.ReverseProxy in front of that handler.
//
// Every server under test runs in a process of its own: the real gateway
// binary (built from ./cmd/gateway into a temporary directory, or -gateway),
// and the plain handler and the bare proxy (this binary, re-executed), so
// that each one's CPU time (/proc/<pid>/stat) and peak RSS (VmHWM) are its
// own. With -pin (the default on a machine with two CPUs and taskset) the
// servers run on CPU 0 and the load generator on CPU 1.
//
// It mints real tokens through the real flow (an app registered and
// approved through the admin API, a member signing in and consenting on the
// gateway's pages, the code exchanged with PKCE), then runs, for a bounded
// time each: a FHIR read by id, an ExplanationOfBenefit search by patient
// (a page of 20), introspection of live access tokens and refresh grants,
// on the embedded store and on Redis.
//
//	go run ./cmd/loadtest -duration 5s -clients 1,32
//
// Redis is GATEWAY_TEST_REDIS_URL (default redis://127.0.0.1:6379/15),
// under a key prefix of its own (GATEWAY_REDIS_KEY_PREFIX) that is deleted
// afterwards; -stores memory skips it. Every child process is killed when
// the harness ends, is interrupted or dies.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Bounds of a run.
const (
	maxDuration = time.Minute
	maxClients  = 256
	maxTokens   = 1000
)

// options bound a run.
type options struct {
	Duration time.Duration // of each attack
	Clients  []int         // concurrent clients (vegeta workers); one table per count
	Tokens   int           // live access tokens the introspection scenario cycles through
	Stores   []string      // "memory", "redis"
	RedisURL string
	Pin      bool   // servers on CPU 0, the load generator on CPU 1
	Gateway  string // gateway binary; empty: build ./cmd/gateway
	// HeapProfiles, when set, is a directory where each gateway's heap
	// profile is written after its last table (the gateways then run
	// with GATEWAY_PPROF).
	HeapProfiles string
	// CPUProfiles, when set, is a directory where a CPU profile of each
	// gateway attack is written (cpuProfile).
	CPUProfiles string
	Hydra       string // ORY Hydra binary to compare with; empty: $HYDRA_BIN, else no comparison
	Out         io.Writer

	gateway gatewayBinary // what starts a gateway process (set by run, or by a test)
	pin     *pinning
	tmp     string // temporary directory of this run
}

func main() {
	if serveRole() {
		return
	}
	o := options{Out: os.Stdout}
	stores := flag.String("stores", "memory,redis", "stores to run against: memory, redis or both")
	clients := flag.String("clients", "1,32", "concurrent clients, 1 to 256; a comma-separated list runs each count (e.g. 1,32)")
	flag.DurationVar(&o.Duration, "duration", 5*time.Second, "how long each attack runs (at most 1m)")
	flag.IntVar(&o.Tokens, "tokens", 100, "live access tokens to introspect in turn (1 to 1000)")
	flag.BoolVar(&o.Pin, "pin", canPin(), "pin servers under test to CPU 0 and the load generator to CPU 1 (default on with 2 CPUs and taskset)")
	flag.StringVar(&o.HeapProfiles, "heap-profiles", "", "directory to write each gateway's heap profile to after its last table (turns on GATEWAY_PPROF)")
	flag.StringVar(&o.CPUProfiles, "cpu-profiles", "", "directory to write a CPU profile of each gateway attack to (turns on GATEWAY_PPROF; the profiler's sampling adds about 1% to the CPU figures)")
	flag.StringVar(&o.Gateway, "gateway", "", "gateway binary to run (default: go build ./cmd/gateway into a temporary directory)")
	flag.StringVar(&o.Hydra, "hydra", "", "ORY Hydra "+hydraVersion+" binary to compare refresh grants and introspection with (default $"+hydraEnvVar+"; none: the comparison is skipped)")
	flag.Parse()
	o.Stores = strings.Split(*stores, ",")
	for _, c := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: -clients %q: %v\n", *clients, err)
			os.Exit(2)
		}
		o.Clients = append(o.Clients, n)
	}
	o.RedisURL = os.Getenv("GATEWAY_TEST_REDIS_URL")
	if o.RedisURL == "" {
		o.RedisURL = "redis://127.0.0.1:6379/15"
	}
	stop := killChildrenOnSignal()
	err := run(context.Background(), o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// check refuses an unbounded run.
func (o options) check() error {
	if o.Duration <= 0 || o.Duration > maxDuration {
		return fmt.Errorf("-duration must be between 0 and %s", maxDuration)
	}
	if len(o.Clients) == 0 {
		return errors.New("-clients names no count")
	}
	for _, c := range o.Clients {
		if c < 1 || c > maxClients {
			return fmt.Errorf("-clients must be between 1 and %d", maxClients)
		}
	}
	if o.Tokens < 1 || o.Tokens > maxTokens {
		return fmt.Errorf("-tokens must be between 1 and %d", maxTokens)
	}
	for _, s := range o.Stores {
		if s != "memory" && s != "redis" {
			return fmt.Errorf("unknown store %q (want memory or redis)", s)
		}
	}
	return nil
}

// run checks the bounds, starts the processes, and runs every scenario on
// every store at every client count. Every process it started is gone when
// it returns.
func run(ctx context.Context, o options) error {
	if err := o.check(); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "pag-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	o.tmp = tmp
	if o.CPUProfiles != "" {
		if err := os.MkdirAll(o.CPUProfiles, 0o755); err != nil {
			return fmt.Errorf("-cpu-profiles: %w", err)
		}
	}
	if o.gateway.path == "" {
		o.gateway.path = o.Gateway
	}
	if o.gateway.path == "" {
		fmt.Fprintln(o.Out, "building ./cmd/gateway …")
		if o.gateway.path, err = buildGateway(ctx, tmp); err != nil {
			return err
		}
	}
	if o.Pin {
		if o.pin, err = pin(); err != nil {
			return err
		}
		defer o.pin.unpin()
	}
	fmt.Fprintf(o.Out, "clients %s, %s per attack, loopback only; %s.\n", joinInts(o.Clients), o.Duration, o.pin.describe())
	fmt.Fprintln(o.Out, "Each server under test runs in its own process; CPU is that process's own (from /proc); a gateway on Redis also shows what Redis used meanwhile (INFO cpu; the CPU ratio with it in brackets). Ratios are to the baseline named in the column.")
	fmt.Fprintf(o.Out, "Load average at start (1, 5, 15 min): %s.\n", loadAverage())
	var peaks []rss
	var tables []table
	for _, store := range o.Stores {
		p, t, err := runStore(ctx, o, store)
		if err != nil {
			return fmt.Errorf("%s: %w", store, err)
		}
		peaks = append(peaks, p...)
		tables = append(tables, t...)
	}
	printRSS(o, peaks)
	if o.CPUProfiles != "" {
		fmt.Fprintf(o.Out, "\nCPU profiles of the gateway attacks written to %s (go tool pprof -top FILE); their CPU figures include the profiler's sampling.\n", o.CPUProfiles)
	}
	fmt.Fprintf(o.Out, "\nLoad average at the end (1, 5, 15 min): %s.\n", loadAverage())
	fmt.Fprintf(o.Out, "\n### Against ORY Hydra %s\n\n", hydraVersion)
	bin, skip := hydraBinary(o.Hydra, os.Getenv)
	if bin == "" {
		fmt.Fprintln(o.Out, skip)
		return nil
	}
	return compareHydra(ctx, o, bin, tables)
}

// rssTargetMB is the bound on the gateway's resident set under the
// harness's heaviest run.
const rssTargetMB = 64

// runStore starts a gateway on store, and the upstream rig (an upstream
// server, a bare proxy and a gateway in upstream mode in front of it), runs
// the scenarios at every client count, prints each table's targets, and
// returns the gateway processes' peak RSS and the tables.
func runStore(ctx context.Context, o options, store string) ([]rss, []table, error) {
	e, err := start(ctx, o, store, "")
	if err != nil {
		return nil, nil, err
	}
	defer e.close()
	toks, err := e.mintMany(ctx, o.Tokens)
	if err != nil {
		return nil, nil, err
	}
	access := make([]string, len(toks))
	for i, t := range toks {
		access[i] = t.AccessToken
	}
	rig, err := startUpstream(ctx, o, e, access[0])
	if err != nil {
		return nil, nil, fmt.Errorf("upstream mode: %w", err)
	}
	defer rig.close()
	peaks := func() []rss {
		return []rss{
			{name: "gateway, " + store + " store", mb: e.srv.proc.peakRSSMB()},
			{name: "gateway, " + store + " store, upstream mode", mb: rig.gw.srv.proc.peakRSSMB()},
		}
	}
	var tables []table
	for _, clients := range o.Clients {
		t, err := scenarios(ctx, e, o, clients, access)
		if err != nil {
			return nil, nil, err
		}
		if err := rig.scenarios(o, clients, &t); err != nil {
			return nil, nil, fmt.Errorf("upstream mode: %w", err)
		}
		t.peaks = peaks()
		printTargets(o, t)
		tables = append(tables, t)
	}
	if o.HeapProfiles != "" {
		for name, g := range map[string]*env{store: e, store + "-upstream": rig.gw} {
			if err := g.saveHeapProfile(o.HeapProfiles, name); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		fmt.Fprintf(o.Out, "\nHeap profiles written to %s (go tool pprof -sample_index=inuse_space -top FILE).\n", o.HeapProfiles)
	}
	return peaks(), tables, nil
}

// loadAverage is the machine's load average (/proc/loadavg): other work on
// the machine shows in the figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}
