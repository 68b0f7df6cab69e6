package gateway_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/gateway"
	redisstore "github.com/patientaccess/gateway/gateway/store/redis"
)

// roundTrips is a go-redis hook that counts what the client sends: each
// command and each pipeline is one round trip to Redis. It also keeps
// what each round trip sent, as its commands' names.
type roundTrips struct {
	n    atomic.Int64
	mu   sync.Mutex
	sent []string // "hmget get xadd" per round trip
}

func (*roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (r *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		r.n.Add(1)
		r.record([]goredis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		r.n.Add(1)
		r.record(cmds)
		return next(ctx, cmds)
	}
}

func (r *roundTrips) record(cmds []goredis.Cmder) {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name()
	}
	r.mu.Lock()
	r.sent = append(r.sent, strings.Join(names, " "))
	r.mu.Unlock()
}

// reset forgets what was counted and sent.
func (r *roundTrips) reset() {
	r.n.Store(0)
	r.mu.Lock()
	r.sent = nil
	r.mu.Unlock()
}

// sentSince returns what each round trip sent since the last reset.
func (r *roundTrips) sentSince() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

// measuredRedis is a Redis store opened for measuring: its round trips
// are counted and its client and key prefix are kept.
type measuredRedis struct {
	rt     roundTrips
	client *goredis.Client
	prefix string
	// short gives the keys a prefix as long as the default "pag:", so
	// that what is measured is what a deployment's keys take, not the
	// test's long prefix.
	short bool
}

func (m *measuredRedis) open(t testing.TB) gateway.Store {
	t.Helper()
	_, m.client = testRedis(t)
	m.client.AddHook(&m.rt)
	m.prefix = fmt.Sprintf("pagtest:%s:%d:", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	if m.short {
		m.prefix = fmt.Sprintf("m%02x:", time.Now().UnixNano()%256)
	}
	deleteKeys(t, m.client, m.prefix)
	deleteKeys(t, m.client, "rate:"+m.prefix)
	return redisstore.New(m.client, redisstore.WithPrefix(m.prefix))
}

// TestFHIRReadRedisRoundTrips counts the Redis round trips of
// token-bearing FHIR calls once the token, its grant and its app have been
// seen, for a read, an EOB search and a refusal decided from the token's
// claims (a resource not in the member's data): one each, and what it
// asks of Redis is the record (one field of its request's hash), the
// grant, the apps version (the app's JSON is read again only when it
// moved) and the two appends of the audit event, all plain commands. A Lua
// script costs Redis several times the command it wraps (EVAL of an XADD
// about 15 us against 4 us on the 2-core machine), and Redis shares the
// cores with the gateway.
func TestFHIRReadRedisRoundTrips(t *testing.T) {
	m := &measuredRedis{}
	h := newHarness(t, m.open)
	tok := h.launchAs(h.registerApp(false, "approved"), "alice")
	alice := h.patient["alice"]
	if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+alice); code != 200 {
		t.Fatalf("first read: %d", code)
	}
	const calls, want = 20, "hget get get xadd xadd"
	for _, c := range []struct {
		path string
		code int
	}{
		{"/Patient/" + alice, 200},
		{"/ExplanationOfBenefit?patient=" + alice, 200},
		{"/Patient/" + h.patient["bob"], 404},
	} {
		m.rt.reset()
		for range calls {
			if code, _ := h.fhirGet(tok.AccessToken, c.path); code != c.code {
				t.Fatalf("GET %s: %d, want %d", c.path, code, c.code)
			}
		}
		if got := m.rt.n.Load(); got != calls {
			t.Errorf("%d calls of GET %s made %d Redis round trips, want 1 each", calls, c.path, got)
		}
		for _, sent := range m.rt.sentSince() {
			if sent != want {
				t.Errorf("a call of GET %s sent %q, want %q", c.path, sent, want)
				break
			}
		}
	}
}
