package gateway_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/store/storetest"
)

// logBuffer is a goroutine-safe log sink for tests that check log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startOn starts a gateway (demo mode, so no shared secrets are needed)
// on the Redis at url, logging into logs.
func startOn(t *testing.T, url string, logs *logBuffer) (*gateway.Gateway, error) {
	t.Helper()
	cfg := gateway.Config{Addr: "127.0.0.1:0", BaseURL: "http://127.0.0.1:8080", RedisURL: url, Demo: true, DemoPassword: demoPassword}
	g, err := gateway.New(context.Background(), cfg, gateway.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err == nil {
		t.Cleanup(func() { _ = g.Close() })
	}
	return g, err
}

// TestRedisSettingsChecked: at start-up the gateway reads Redis's settings
// (CONFIG GET) and refuses an eviction policy that would drop its keys
// (allkeys-* and volatile-*: tokens, codes and sessions all have a TTL),
// and warns when Redis persists nothing.
func TestRedisSettingsChecked(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		refused bool
		warned  bool
	}{
		{"allkeys-lru refused", []string{"--maxmemory-policy", "allkeys-lru"}, true, false},
		{"volatile-lru refused", []string{"--maxmemory-policy", "volatile-lru"}, true, false},
		{"noeviction without persistence warned", []string{"--maxmemory-policy", "noeviction"}, false, true},
		{"noeviction with AOF accepted", []string{"--maxmemory-policy", "noeviction", "--appendonly", "yes"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := storetest.StartRedis(t, tc.args...)
			var logs logBuffer
			_, err := startOn(t, srv.URL, &logs)
			if tc.refused != (err != nil) || tc.refused && !strings.Contains(err.Error(), "maxmemory-policy") {
				t.Fatalf("start-up error %v, want refused=%v naming maxmemory-policy", err, tc.refused)
			}
			if warned := strings.Contains(logs.String(), "persist"); warned != tc.warned {
				t.Fatalf("persistence warning logged: %v, want %v; logs:\n%s", warned, tc.warned, logs.String())
			}
		})
	}
}

// TestReadyzFailsWhenRedisLostData: /readyz answers 503, and says so in
// the log, when Redis comes back empty (a restart without persistence):
// the store's marker key, written at first start, is gone.
func TestReadyzFailsWhenRedisLostData(t *testing.T) {
	srv := storetest.StartRedis(t)
	var logs logBuffer
	g, err := startOn(t, srv.URL, &logs)
	if err != nil {
		t.Fatal(err)
	}
	ready := func() int {
		w := httptest.NewRecorder()
		g.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		return w.Code
	}
	if code := ready(); code != http.StatusOK {
		t.Fatalf("readyz on a fresh store: %d, want 200", code)
	}
	srv.Stop()
	srv.Start() // empty: no persistence
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz after Redis lost its data: %d, want 503", code)
	}
	if !strings.Contains(logs.String(), "lost its data") {
		t.Fatalf("no log line says the store lost its data:\n%s", logs.String())
	}
}

// TestGoRedisLogsThroughSlog: go-redis's own log lines (a failed dial)
// reach the gateway's slog logger, marked as go-redis's, not stderr.
func TestGoRedisLogsThroughSlog(t *testing.T) {
	srv := storetest.StartRedis(t)
	var logs logBuffer
	g, err := startOn(t, srv.URL, &logs)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	w := httptest.NewRecorder()
	g.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Redis down: %d, want 503", w.Code)
	}
	if out := logs.String(); !strings.Contains(out, "component=go-redis") || !strings.Contains(out, "dial") {
		t.Fatalf("go-redis's failed dial is not in the gateway's log:\n%s", out)
	}
}
