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

// Start runs `node js/<script>` with env added to the test's environment,
// waits (at most 60 s) for it to print "listening <url>" on stdout, and stops
// it when the test ends. The script's stderr is shown if it fails to start.
func Start(t testing.TB, script string, env ...string) *Server {
	t.Helper()
	Require(t)
	cmd := exec.Command("node", filepath.Join("js", script))
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	s := &Server{cmd: cmd, stderr: &tailBuffer{max: 16 << 10}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("nodetest: start %s: %v", script, err)
	}
	t.Cleanup(s.stop)
	url, err := waitListening(stdout, 60*time.Second)
	if err != nil {
		t.Fatalf("nodetest: %s did not start: %v\nstderr:\n%s", script, err, s.stderr.String())
	}
	s.URL = url
	return s
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
		return "", fmt.Errorf("no \"listening\" line within %s", limit)
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
