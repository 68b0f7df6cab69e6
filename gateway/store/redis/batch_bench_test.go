package redis

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/store/storetest"
	"github.com/patientaccess/gateway/oauth"
)

// countPipelines counts the pipelines a client sends.
type countPipelines struct{ n atomic.Int64 }

func (h *countPipelines) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *countPipelines) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }

func (h *countPipelines) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkCheckAccessAppendParallel runs 32 concurrent FHIR calls' token
// check and audit appends (CheckAccessAppend, the one round trip of a
// read) on a Redis of its own, with one pipeline per call ("each") and
// with pipelines shared (group commit, "batched"), in one run, so that
// the two compare on the same machine at the same moment. Besides ns/op
// it reports pipelines per call and the CPU per call of this process
// (the gateway's side: go-redis, syscalls) and of the Redis server. Run it
// on one CPU, as the load harness pins the gateway:
//
//	go test -run '^$' -bench CheckAccessAppendParallel -cpu 1 -benchtime 20000x -count 3 ./gateway/store/redis
func BenchmarkCheckAccessAppendParallel(b *testing.B) {
	srv := storetest.StartRedis(b)
	ctx := context.Background()
	for _, v := range []struct {
		name string
		max  int
	}{{"each", 1 << 20}, {"batched", maxBatchesInFlight}} {
		b.Run(v.name, func(b *testing.B) {
			s, c, err := Open(ctx, srv.URL, time.Second)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			s.batch.max = v.max
			q, event := checkFixture(b, s)
			pid := redisPID(b, c)
			count := &countPipelines{}
			c.AddHook(count)
			b.SetParallelism(32)
			redisCPU, ownCPU := procCPU(b, pid), selfCPU()
			var mu sync.Mutex
			var took []time.Duration
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					start := time.Now()
					if _, _, err := s.CheckAccessAppend(ctx, q, []apps.Event{event}); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				took = append(took, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-us")
			n := float64(b.N)
			b.ReportMetric(float64(count.n.Load())/n, "pipelines/op")
			b.ReportMetric(float64(selfCPU()-ownCPU)/n/1e3, "client-cpu-us/op")
			b.ReportMetric(float64(procCPU(b, pid)-redisCPU)/n/1e3, "redis-cpu-us/op")
		})
	}
}

// checkFixture stores an approved app, a grant and an access token with
// claims, and returns the query a FHIR call makes for it and a read's
// audit event.
func checkFixture(b testing.TB, s *Store) (oauth.AccessQuery, apps.Event) {
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateApp(ctx, apps.App{ClientID: "app1", Name: "App", Status: apps.StatusApproved, CreatedAt: now,
		RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"launch/patient", "patient/*.rs"}}); err != nil &&
		!strings.Contains(err.Error(), "exists") {
		b.Fatal(err)
	}
	grant := apps.Grant{ID: "req1", Member: "alice", Patient: "pat-alice", ClientID: "app1",
		Scopes: []string{"launch/patient", "patient/*.rs"}, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
	if err := s.CreateGrant(ctx, grant); err != nil && !strings.Contains(err.Error(), "exists") {
		b.Fatal(err)
	}
	rec := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: now.Add(time.Hour),
		Claims: []byte{0x01}, Request: []byte("{}")}
	if err := s.CreateToken(ctx, oauth.KindAccess, "sig1", rec); err != nil {
		b.Fatal(err)
	}
	q := oauth.AccessQuery{Signature: "sig1", RequestID: "req1", ClientID: "app1", KnownClaims: true}
	e := apps.Event{Time: now, Action: "fhir.read", ClientID: "app1", Member: "alice", Patient: "pat-alice",
		Outcome: "success", ResourceTypes: []string{"Patient"}}
	return q, e
}

// redisPID is the Redis server's process id (INFO server).
func redisPID(b *testing.B, c goredis.UniversalClient) int {
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			pid, _ := strconv.Atoi(v)
			return pid
		}
	}
	b.Fatal("no process_id in INFO")
	return 0
}

// procCPU is a process's user and system CPU time in nanoseconds, from
// /proc/<pid>/stat (clock ticks of 10 ms).
func procCPU(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return (utime + stime) * int64(10*time.Millisecond)
}

// selfCPU is this process's user and system CPU time in nanoseconds.
func selfCPU() int64 {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return u.Utime.Nano() + u.Stime.Nano()
}
