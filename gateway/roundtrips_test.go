package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/gateway"
	redisstore "github.com/patientaccess/gateway/gateway/store/redis"
)

// roundTrips is a go-redis hook that counts what the client sends: each
// command and each pipeline is one round trip to Redis.
type roundTrips struct{ n atomic.Int64 }

func (*roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (r *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// countedRedis opens a Redis store whose round trips rt counts.
func countedRedis(rt *roundTrips) func(t testing.TB) gateway.Store {
	return func(t testing.TB) gateway.Store {
		t.Helper()
		_, client := testRedis(t)
		client.AddHook(rt)
		prefix := fmt.Sprintf("pagtest:%s:%d:", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
		deleteKeys(t, client, prefix)
		deleteKeys(t, client, "rate:"+prefix)
		return redisstore.New(client, redisstore.WithPrefix(prefix))
	}
}

// TestFHIRReadRedisRoundTrips counts the Redis round trips of a
// token-bearing FHIR read once the token has been seen: the token check
// (record, grant and app in one pipeline) and the audit event.
func TestFHIRReadRedisRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	h := newHarness(t, countedRedis(rt))
	tok := h.launchAs(h.registerApp(false, "approved"), "alice")
	path := "/Patient/" + h.patient["alice"]
	if code, _ := h.fhirGet(tok.AccessToken, path); code != 200 {
		t.Fatalf("first read: %d", code)
	}
	const reads, perRead = 20, 2
	rt.n.Store(0)
	for range reads {
		if code, _ := h.fhirGet(tok.AccessToken, path); code != 200 {
			t.Fatalf("read: %d", code)
		}
	}
	if got := rt.n.Load(); got != reads*perRead {
		t.Errorf("%d reads made %d Redis round trips, want %d each", reads, got, perRead)
	}
}
