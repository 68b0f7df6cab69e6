// Package nodetest starts the real servers and clients, written by others and
// installed from npm, that the gateway's tests run against: Medplum's FHIR
// router as an upstream FHIR server, panva's oidc-provider as a plan's
// OpenID provider, and unmodified SMART and OAuth clients.
//
// The Node project lives beside this file: package.json and the committed
// package-lock.json name every package and version; scripts are in js/.
// Require installs node_modules from the lockfile (npm ci) the first time a
// test needs it, once across all test processes, so `go test ./...` alone
// works on a fresh clone. Without node and npm a test skips with a clear
// message, or fails when CI is set.
package nodetest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Dir is the Node project's directory (the one holding package.json).
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("nodetest: cannot locate the package directory")
	}
	return filepath.Dir(file)
}

// stampFile records the hash of the lockfile node_modules was installed from.
const stampFile = "node_modules/.installed-from-lock"

var (
	installOnce sync.Once
	installErr  error
)

// Require makes sure node, npm and node_modules (as package-lock.json says)
// are there. Outside CI a missing node or npm skips the test; with CI set it
// fails it. A failed install always fails.
func Require(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, tool+" is not installed: the tests that start real Node servers and clients need Node.js 20+ and npm")
		}
	}
	installOnce.Do(func() { installErr = install() })
	if installErr != nil {
		t.Fatalf("nodetest: %v", installErr)
	}
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (set CI=1 to fail instead of skipping)")
}

// install runs npm ci unless node_modules already matches the lockfile. A
// file lock keeps concurrent test processes (go test runs packages in
// parallel) from installing over each other.
func install() error {
	dir := Dir()
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("read lockfile: %w", err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "pag-nodetest-"+want[:16]+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open install lock: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("take install lock: %w", err)
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	if got, err := os.ReadFile(filepath.Join(dir, stampFile)); err == nil && strings.TrimSpace(string(got)) == want {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return os.WriteFile(filepath.Join(dir, stampFile), []byte(want+"\n"), 0o644)
}

// Server is a running Node script.
type Server struct {
	// URL is what the script printed after "listening ".
	URL string

	cmd    *exec.Cmd
	stderr *tailBuffer
}

// startLimit is how long one try of Start waits for the script's
// "listening" line.
var startLimit = 60 * time.Second

// startTries is how many times Start runs a script that stalls (says
// nothing within startLimit) before it fails the test. A Node server that
// starts in a second on a quiet machine has been seen to stall past the
// limit while the race-instrumented tests saturated both cores; a second
// process is cheap and a script that is really broken fails both.
const startTries = 2

// errStalled is the error of a try whose script printed no "listening"
// line within the limit and had not exited.
var errStalled = errors.New("no \"listening\" line")

// Start runs `node js/<script>` with env added to the test's environment,
// waits (at most 60 s) for it to print "listening <url>" on stdout, and stops
// it when the test ends. A script that stalls is killed and started once
// more; when it fails, the test fails with the script's stderr and, for a
// stall, the process's state and CPU time (to tell a starved process from a
// stuck one).
func Start(t testing.TB, script string, env ...string) *Server {
	t.Helper()
	Require(t)
	var failures []string
	for try := 1; try <= startTries; try++ {
		s, err := startOnce(script, env, startLimit)
		if err == nil {
			t.Cleanup(s.stop)
			if try > 1 {
				t.Logf("nodetest: %s started on try %d after: %s", script, try, strings.Join(failures, "; "))
			}
			return s
		}
		failures = append(failures, fmt.Sprintf("try %d: %v", try, err))
		if !errors.Is(err, errStalled) {
			break
		}
	}
	t.Fatalf("nodetest: %s did not start:\n%s", script, strings.Join(failures, "\n"))
	return nil
}

// startOnce starts the script and waits up to limit for its "listening"
// line. On failure the process is gone.
func startOnce(script string, env []string, limit time.Duration) (*Server, error) {
	cmd := exec.Command("node", filepath.Join("js", script))
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &Server{cmd: cmd, stderr: &tailBuffer{max: 16 << 10}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	url, err := waitListening(stdout, limit)
	if err != nil {
		state := ""
		if errors.Is(err, errStalled) {
			state = " (" + procState(cmd.Process.Pid) + ")"
		}
		s.stop()
		return nil, fmt.Errorf("%w%s\nstderr:\n%s", err, state, s.stderr.String())
	}
	s.URL = url
	return s, nil
}

// procState describes a running process from /proc/<pid>/stat: its
// scheduler state and the CPU time it has used.
func procState(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "process state unknown: " + err.Error()
	}
	// The command name (field 2) may hold spaces: the fields after it
	// start behind its closing parenthesis.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return "process state unknown: malformed stat"
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return "process state unknown: short stat"
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15, in
	// clock ticks (100 a second on Linux).
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return fmt.Sprintf("process state %s, %.2f s CPU used", f[0], (utime+stime)/100)
}

// Stop ends the script now (tests that take a server down use it); it is
// also called when the test ends.
func (s *Server) Stop() { s.stop() }

func (s *Server) stop() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

func waitListening(stdout io.Reader, limit time.Duration) (string, error) {
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening "); ok && !sent {
				found <- strings.TrimSpace(u)
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case u, ok := <-found:
		if !ok {
			return "", errors.New("it exited")
		}
		return u, nil
	case <-time.After(limit):
		return "", fmt.Errorf("%w within %s", errStalled, limit)
	}
}

// Run runs `node js/<script> args...` to completion with env added and
// returns its standard output; a non-zero exit fails the test with stderr.
func Run(t testing.TB, timeout time.Duration, script string, env []string, args ...string) string {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join("js", script)}, args...)...)
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), env...)
	var stderr tailBuffer
	stderr.max = 64 << 10
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nodetest: %s: %v\nstdout:\n%s\nstderr:\n%s", script, err, out, stderr.String())
	}
	return string(out)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = b.buf[len(b.buf)-b.max:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
