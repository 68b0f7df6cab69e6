package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The CPUs of a pinned run: every server under test on serverCPU, the
// load generator (this process) on loadCPU.
const (
	serverCPU = 0
	loadCPU   = 1
)

// roleEnv names the role a re-executed harness binary plays: a plain
// handler or a bare reverse proxy (see serveRole).
const roleEnv = "LOADTEST_ROLE"

// The roles a child process of the harness plays.
const (
	rolePlain = "plain" // serves fixed bytes by path (routes file in LOADTEST_ROUTES)
	roleProxy = "proxy" // a bare httputil.ReverseProxy to LOADTEST_TARGET
)

// child is a server under test running in its own process, so that its
// CPU time and peak RSS are its own.
type child struct {
	name   string
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has been waited for
	stderr *tailBuffer
}

// pinning says where processes run: off, or servers on serverCPU and this
// process on loadCPU.
type pinning struct {
	on      bool
	taskset string // path of taskset(1)
	saved   unix.CPUSet
}

// canPin reports whether the machine has the two CPUs and the taskset
// that pinning needs.
func canPin() bool {
	path, err := exec.LookPath("taskset")
	if err != nil || path == "" {
		return false
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return false
	}
	return set.IsSet(serverCPU) && set.IsSet(loadCPU)
}

// pin puts every thread of this process on loadCPU (threads created later
// inherit it) and remembers the old mask for unpin.
func pin() (*pinning, error) {
	path, err := exec.LookPath("taskset")
	if err != nil {
		return nil, fmt.Errorf("-pin needs taskset (util-linux): %w", err)
	}
	p := &pinning{on: true, taskset: path}
	if err := unix.SchedGetaffinity(0, &p.saved); err != nil {
		return nil, fmt.Errorf("read this process's CPU affinity: %w", err)
	}
	if !p.saved.IsSet(serverCPU) || !p.saved.IsSet(loadCPU) {
		return nil, fmt.Errorf("-pin needs CPUs %d and %d, and this process may not use both", serverCPU, loadCPU)
	}
	var set unix.CPUSet
	set.Set(loadCPU)
	if err := setAllThreads(&set); err != nil {
		return nil, fmt.Errorf("pin the load generator to CPU %d: %w", loadCPU, err)
	}
	return p, nil
}

// unpin gives this process's threads their old mask back.
func (p *pinning) unpin() {
	if p != nil && p.on {
		_ = setAllThreads(&p.saved)
	}
}

// setAllThreads sets the affinity of every thread of this process:
// sched_setaffinity applies to one thread only.
func setAllThreads(set *unix.CPUSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
			return err
		}
	}
	return nil
}

// describe says where things run, for the output.
func (p *pinning) describe() string {
	if p == nil || !p.on {
		return "not pinned: servers under test and the load generator share every CPU"
	}
	return fmt.Sprintf("pinned: every server under test (gateway, baselines, upstream) on CPU %d with taskset; the load generator (this process) on CPU %d; Redis is not pinned", serverCPU, loadCPU)
}

// command builds the command line of a server under test: under taskset
// when pinning.
func (p *pinning) command(path string, args ...string) *exec.Cmd {
	if p != nil && p.on {
		return exec.Command(p.taskset, append([]string{"-c", strconv.Itoa(serverCPU), path}, args...)...)
	}
	return exec.Command(path, args...)
}

// startChild starts cmd as a server under test. The child dies with this
// process (PR_SET_PDEATHSIG) even if the harness is killed; stop ends it
// otherwise. Its stderr is kept (the last 8 KB) for error messages.
func startChild(name string, cmd *exec.Cmd) (*child, error) {
	c := &child{name: name, cmd: cmd, done: make(chan struct{}), stderr: &tailBuffer{max: 8 << 10}}
	cmd.Stderr = c.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	registerChild(c)
	if trackChildren != nil {
		trackChildren(c)
	}
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// trackChildren, when set (by a test), is told of every child started.
var trackChildren func(*child)

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// stop kills the child and waits for it; it is safe to call twice.
func (c *child) stop() {
	if c == nil {
		return
	}
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	unregisterChild(c)
}

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// cpu is the CPU time (user and system) the child has used so far.
func (c *child) cpu() time.Duration { return procCPU(c.pid()) }

// peakRSSMB is the child's peak resident set so far (VmHWM), in MB.
func (c *child) peakRSSMB() float64 { return procPeakRSSMB(strconv.Itoa(c.pid())) }

// The children alive, killed on an interrupt (the deferred stops do not
// run when a signal ends the process).
var children = struct {
	sync.Mutex
	set      map[*child]bool
	cleanups map[*func()]bool // run after the kill, e.g. deleting Redis keys
}{set: map[*child]bool{}, cleanups: map[*func()]bool{}}

// onInterrupt registers f to run, after the children are killed, if a
// signal ends the harness; the returned function unregisters it.
func onInterrupt(f func()) func() {
	p := &f
	children.Lock()
	children.cleanups[p] = true
	children.Unlock()
	return func() {
		children.Lock()
		delete(children.cleanups, p)
		children.Unlock()
	}
}

func registerChild(c *child) {
	children.Lock()
	children.set[c] = true
	children.Unlock()
}

func unregisterChild(c *child) {
	children.Lock()
	delete(children.set, c)
	children.Unlock()
}

// killChildrenOnSignal kills every child when SIGINT or SIGTERM arrives,
// runs the onInterrupt functions and exits; the returned function stops
// watching.
func killChildrenOnSignal() func() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			children.Lock()
			for c := range children.set {
				_ = c.cmd.Process.Kill()
			}
			for f := range children.cleanups {
				(*f)()
			}
			children.Unlock()
			fmt.Fprintf(os.Stderr, "loadtest: %s: children killed\n", s)
			os.Exit(130)
		case <-stop:
		}
	}()
	return func() { signal.Stop(sig); close(stop) }
}

// procCPU reads utime and stime of a process from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	// f[0] is field 3 (state): utime and stime are fields 14 and 15.
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// procPeakRSSMB reads VmHWM of /proc/<pid>/status ("self" for this
// process), in MB.
func procPeakRSSMB(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
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

// route is one fixed answer of a plain-handler process.
type route struct {
	Path        string `json:"path"` // URL path; "*" answers every other path
	ContentType string `json:"content_type"`
	Body        []byte `json:"body"`
}

// startPlain starts a plain handler in a process of its own (this binary,
// re-executed), answering each path's bytes.
func startPlain(ctx context.Context, o options, name string, routes []route) (*server, error) {
	f, err := os.CreateTemp(o.tmp, "routes-*.json")
	if err != nil {
		return nil, err
	}
	err = json.NewEncoder(f).Encode(routes)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write the routes of %s: %w", name, err)
	}
	return startRole(ctx, o, name, rolePlain, "LOADTEST_ROUTES="+f.Name())
}

// startProxy starts a bare httputil.ReverseProxy to target in a process of
// its own.
func startProxy(ctx context.Context, o options, name, target string) (*server, error) {
	return startRole(ctx, o, name, roleProxy, "LOADTEST_TARGET="+target)
}

// startRole re-executes this binary in a role, pinned like every server
// under test, and waits for it to say where it listens.
func startRole(ctx context.Context, o options, name, role string, env ...string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary to start %s: %w", name, err)
	}
	cmd := o.pin.command(self)
	cmd.Env = append(childEnv(), append([]string{roleEnv + "=" + role}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c, err := startChild(name, cmd)
	if err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
		_, _ = io.Copy(io.Discard, out)
	}()
	why := ""
	select {
	case s := <-line:
		if base, ok := strings.CutPrefix(strings.TrimSpace(s), "listening "); ok {
			return &server{name: name, base: base, proc: c}, nil
		}
		why = fmt.Sprintf("its first line was %q", s)
	case <-time.After(roleStartLimit):
		why = fmt.Sprintf("no \"listening\" line within %s", roleStartLimit)
	case <-ctx.Done():
		why = ctx.Err().Error()
	}
	c.stop()
	return nil, fmt.Errorf("%s did not start: %s; stderr: %s", name, why, c.stderr.String())
}

// roleStartLimit is how long a re-executed server may take to say where it
// listens. It starts in milliseconds on a quiet machine; a race-built test
// binary pinned to a core the rest of the test suite saturates has taken
// more than 10 s.
const roleStartLimit = time.Minute

// childEnv is this process's environment without the gateway's settings
// (GATEWAY_*, OTEL_*) and without a role, so that a child's settings are
// only the ones the harness gives it.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GATEWAY_") || strings.HasPrefix(kv, "OTEL_") || strings.HasPrefix(kv, roleEnv+"=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// serveRole runs this process as a plain handler or a bare proxy, as
// roleEnv says, on a loopback port it prints ("listening URL"), until it
// is killed. It returns false when no role is set.
func serveRole() bool {
	role := os.Getenv(roleEnv)
	if role == "" {
		return false
	}
	var h http.Handler
	switch role {
	case rolePlain:
		b, err := os.ReadFile(os.Getenv("LOADTEST_ROUTES"))
		if err != nil {
			fail(err)
		}
		var routes []route
		if err := json.Unmarshal(b, &routes); err != nil {
			fail(err)
		}
		h = plainHandler(routes)
	case roleProxy:
		target, err := url.Parse(os.Getenv("LOADTEST_TARGET"))
		if err != nil || target.Host == "" {
			fail(fmt.Errorf("LOADTEST_TARGET %q: %v", os.Getenv("LOADTEST_TARGET"), err))
		}
		h = bareProxy(target)
	default:
		fail(fmt.Errorf("unknown %s %q", roleEnv, role))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	fmt.Printf("listening http://%s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	fail(srv.Serve(ln))
	return true
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadtest child:", err)
	os.Exit(1)
}

// plainHandler answers each path's bytes, and "*"'s for any other path.
func plainHandler(routes []route) http.Handler {
	byPath := map[string]route{}
	for _, r := range routes {
		byPath[r.Path] = r
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := byPath[r.URL.Path]
		if !ok {
			if rt, ok = byPath["*"]; !ok {
				http.NotFound(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", rt.ContentType)
		_, _ = w.Write(rt.Body)
	})
}

// bareProxy is httputil.ReverseProxy to target with enough idle
// connections for every client (http.DefaultTransport's 2 per host would
// halve its throughput).
func bareProxy(target *url.URL) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256},
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// buildGateway builds the real cmd/gateway binary into dir, from the
// module this harness belongs to (found with go env GOMOD).
func buildGateway(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module to build cmd/gateway from (or pass -gateway): %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return "", errors.New("not inside the gateway's module: run from the repository or pass -gateway")
	}
	bin := filepath.Join(dir, "gateway")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gateway")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gateway: %w: %s", err, out)
	}
	return bin, nil
}
