package storetest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a redis-server process of a test's own, on a free
// loopback port, for tests that stop, stall or restart Redis. It never
// touches the shared Redis on 6379. It is not safe for concurrent use.
type RedisServer struct {
	t    testing.TB
	Addr string // host:port
	URL  string // redis://host:port/0
	args []string
	cmd  *exec.Cmd
}

// StartRedis starts redis-server (found on PATH) on a free port, without
// persistence (--save "" --appendonly no) unless args say otherwise, and
// stops it when the test ends. Without redis-server the test is skipped,
// or fails when CI is set.
func StartRedis(t testing.TB, args ...string) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not on PATH (apt-get install redis-server); this test needs a Redis of its own"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	base := []string{bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--protected-mode", "no", "--loglevel", "warning"}
	r := &RedisServer{t: t, Addr: addr, URL: "redis://" + addr + "/0", args: append(base, args...)}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// freePort asks the kernel for a free TCP port on the loopback interface.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts the server (again, after Stop) and waits until it answers PING.
func (r *RedisServer) Start() {
	r.t.Helper()
	r.cmd = exec.Command(r.args[0], r.args[1:]...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r.Ping() == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("redis-server on %s did not answer PING within 10s", r.Addr)
}

// Stop kills the server (SIGKILL: nothing is saved) and waits for it to exit.
func (r *RedisServer) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT) // a stalled server must be able to die
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Stall freezes the server (SIGSTOP): its port still accepts connections
// (the kernel completes the handshake) but nothing is answered.
func (r *RedisServer) Stall() { r.signal(syscall.SIGSTOP) }

// Resume ends a Stall (SIGCONT).
func (r *RedisServer) Resume() { r.signal(syscall.SIGCONT) }

func (r *RedisServer) signal(sig syscall.Signal) {
	r.t.Helper()
	if r.cmd == nil || r.cmd.Process == nil {
		r.t.Fatalf("redis-server on %s is not running", r.Addr)
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("signal redis-server: %v", err)
	}
}

// Ping sends PING over a new connection and reports whether PONG came back
// within 200ms.
func (r *RedisServer) Ping() error {
	reply, err := r.Do("PING")
	if err == nil && reply != "PONG" {
		err = fmt.Errorf("PING answered %q", reply)
	}
	return err
}

// Do sends one command over a new connection and returns the first line of
// the reply (without its type byte), or the error reply as an error. It
// needs no Redis client library, so that only the Redis backend imports one.
func (r *RedisServer) Do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", r.Addr, 200*time.Millisecond)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply")
	}
	if line[0] == '-' {
		return "", fmt.Errorf("redis: %s", line[1:])
	}
	return line[1:], nil
}
