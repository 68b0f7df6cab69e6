package gateway_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/patientaccess/gateway/gateway"
)

// served is a gateway run by Serve on a port of its own.
type served struct {
	g      *gateway.Gateway
	addr   string
	stop   context.CancelFunc
	done   chan error
	faulty *faultyStore
}

func serveGateway(t *testing.T, shutdownTimeout time.Duration) *served {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	faulty, open := newFaulty(memoryStore)
	cfg := gateway.Config{Addr: addr, BaseURL: "http://" + addr, Demo: true, DemoPassword: demoPassword,
		AdminToken: adminToken, ShutdownTimeout: shutdownTimeout}
	g, err := gateway.New(context.Background(), cfg, gateway.Options{Store: open(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{g: g, addr: addr, stop: cancel, done: make(chan error, 1), faulty: faulty}
	go func() { s.done <- g.Serve(ctx, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(cancel)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not start serving")
		}
	}
	return s
}

// inFlight starts GET /admin/apps, which the store holds until release is
// closed, and returns once the request is inside the store; the status
// arrives on the returned channel (0 if the request failed).
func (s *served) inFlight(t *testing.T, release <-chan struct{}) <-chan int {
	entered := make(chan struct{})
	s.faulty.setRule(func(m string) error {
		if m == "ListApps" {
			close(entered)
			<-release
		}
		return nil
	})
	status := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+s.addr+"/admin/apps", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-entered
	return status
}

// TestGracefulShutdown: when told to stop, the gateway fails /readyz at
// once, accepts no new connection, lets the request in flight finish, and
// returns; a request that outlives the drain bound is cut off and Serve
// returns, after the bound, saying so.
func TestGracefulShutdown(t *testing.T) {
	t.Run("drains", func(t *testing.T) {
		s := serveGateway(t, 5*time.Second)
		release := make(chan struct{})
		status := s.inFlight(t, release)
		s.stop()
		for deadline := time.Now().Add(200 * time.Millisecond); ; time.Sleep(5 * time.Millisecond) {
			w := httptest.NewRecorder()
			s.g.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
			if w.Code == http.StatusServiceUnavailable {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("readyz 200ms after the stop: %d, want 503", w.Code)
			}
		}
		for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
			c, err := net.DialTimeout("tcp", s.addr, 100*time.Millisecond)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatal("new connections are still accepted a second after the stop")
			}
		}
		close(release)
		if code := <-status; code != http.StatusOK {
			t.Errorf("the request in flight at the stop answered %d, want 200", code)
		}
		select {
		case err := <-s.done:
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after the drain")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		const bound = 300 * time.Millisecond
		s := serveGateway(t, bound)
		release := make(chan struct{})
		defer close(release)
		status := s.inFlight(t, release)
		start := time.Now()
		s.stop()
		select {
		case err := <-s.done:
			if took := time.Since(start); err == nil || took < bound || took > bound+2*time.Second {
				t.Fatalf("Serve returned %v after %v, want an error after about %v", err, took, bound)
			}
		case <-time.After(bound + 5*time.Second):
			t.Fatal("Serve did not return after the drain bound")
		}
		if code := <-status; code != 0 {
			t.Fatalf("the request cut off answered %d", code)
		}
	})
}
