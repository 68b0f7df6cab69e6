package gateway_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

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

// measuredRedis is a Redis store opened for measuring: its round trips
// are counted and its client and key prefix are kept.
type measuredRedis struct {
	rt     roundTrips
	client *goredis.Client
	prefix string
}

func (m *measuredRedis) open(t testing.TB) gateway.Store {
	t.Helper()
	_, m.client = testRedis(t)
	m.client.AddHook(&m.rt)
	m.prefix = fmt.Sprintf("pagtest:%s:%d:", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	deleteKeys(t, m.client, m.prefix)
	deleteKeys(t, m.client, "rate:"+m.prefix)
	return redisstore.New(m.client, redisstore.WithPrefix(m.prefix))
}

// TestFHIRReadRedisRoundTrips counts the Redis round trips of
// token-bearing FHIR calls once the token has been seen: one each, the
// check that the token is still live (record, grant and app) and the
// audit event in one pipeline, for a read, an EOB search and a refusal
// decided from the token's claims (a resource not in the member's data).
func TestFHIRReadRedisRoundTrips(t *testing.T) {
	m := &measuredRedis{}
	rt := &m.rt
	h := newHarness(t, m.open)
	tok := h.launchAs(h.registerApp(false, "approved"), "alice")
	alice := h.patient["alice"]
	if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+alice); code != 200 {
		t.Fatalf("first read: %d", code)
	}
	const calls, perCall = 20, 1
	for _, c := range []struct {
		path string
		code int
	}{
		{"/Patient/" + alice, 200},
		{"/ExplanationOfBenefit?patient=" + alice, 200},
		{"/Patient/" + h.patient["bob"], 404},
	} {
		rt.n.Store(0)
		for range calls {
			if code, _ := h.fhirGet(tok.AccessToken, c.path); code != c.code {
				t.Fatalf("GET %s: %d, want %d", c.path, code, c.code)
			}
		}
		if got := rt.n.Load(); got != calls*perCall {
			t.Errorf("%d calls of GET %s made %d Redis round trips, want %d each", calls, c.path, got, perCall)
		}
	}
}

// BenchmarkRedisMemoryPerGrant reports the Redis memory (MEMORY USAGE) a
// live grant takes with its tokens: the grant, its access and refresh
// token records, their pointers and the request's index, after one
// refresh (so a rotated refresh token is counted too). The target is at
// most 2 KiB.
//
//	go test -run '^$' -bench BenchmarkRedisMemoryPerGrant -benchtime 20x ./gateway
func BenchmarkRedisMemoryPerGrant(b *testing.B) {
	m := &measuredRedis{}
	h := newHarness(b, m.open)
	conf := h.registerApp(false, "approved")
	grants := 0
	br := h.browser() // signed in once: the login throttle is not what is measured
	for b.Loop() {
		l := h.newLaunch(conf)
		code := h.authorize(br, l, "alice")
		tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
		if err != nil {
			b.Fatal(err)
		}
		if r := h.refreshAs(conf, tok.RefreshToken, ""); r.status != 200 {
			b.Fatalf("refresh: %d", r.status)
		}
		grants++
	}
	ctx := context.Background()
	var total, rotated int64
	iter := m.client.Scan(ctx, 0, m.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := strings.TrimPrefix(iter.Val(), m.prefix)
		if !strings.HasPrefix(key, "grant:") && !strings.HasPrefix(key, "{req:") && !strings.HasPrefix(key, "tok:") {
			continue // the app, the member, the audit trail: not per grant
		}
		n, err := m.client.MemoryUsage(ctx, iter.Val()).Result()
		if err != nil {
			b.Fatal(err)
		}
		total += n
		if os.Getenv("GATEWAY_BENCH_KEYS") != "" {
			b.Logf("%6d %s", n, key)
		}
		if strings.Contains(key, ":tok:refresh:") && !strings.HasPrefix(key, "tok:") {
			if active, _ := m.client.HGet(ctx, iter.Val(), "active").Result(); active == "0" {
				rotated += n
			}
		}
	}
	b.ReportMetric(float64(total)/float64(grants), "bytes/grant")
	b.ReportMetric(float64(rotated)/float64(grants), "rotated-refresh-bytes/grant")
}
