package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/gateway/store/storetest"
)

// holdFirstPipeline counts the pipelines the client sends and holds the
// first one until release is closed, as a slow round trip would.
type holdFirstPipeline struct {
	pipelines atomic.Int64
	release   chan struct{}
	fail      error // what the first pipeline fails with, if not nil
}

func (h *holdFirstPipeline) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *holdFirstPipeline) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }

func (h *holdFirstPipeline) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if h.pipelines.Add(1) == 1 {
			<-h.release
			if h.fail != nil {
				for _, c := range cmds {
					c.SetErr(h.fail)
				}
				return h.fail
			}
		}
		return next(ctx, cmds)
	}
}

// TestBatcherCoalescesWaitingCallers: while a pipeline is on the wire,
// the callers that come meanwhile wait, and go out together in one
// pipeline when it returns: 1 + 1 pipelines for 16 callers, not 16. Each
// caller gets its own answers and only its own errors (a missing key of
// one is not another's redis.Nil), and a lone caller is sent at once.
func TestBatcherCoalescesWaitingCallers(t *testing.T) {
	srv := storetest.StartRedis(t)
	ctx := context.Background()
	opts, err := goredis.ParseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	const callers = 16
	for i := range callers {
		if i%2 == 0 { // odd callers' keys are missing
			c.Set(ctx, fmt.Sprint("k", i), fmt.Sprint("v", i), 0)
		}
	}
	hold := &holdFirstPipeline{release: make(chan struct{})}
	c.AddHook(hold)
	b := &batcher{c: c, max: 1}
	get := func(i int) (string, error) {
		var cmd *goredis.StringCmd
		err := b.pipelined(ctx, func(p goredis.Pipeliner) { cmd = p.Get(ctx, fmt.Sprint("k", i)) })
		return cmd.Val(), err
	}

	var wg sync.WaitGroup
	got := make([]string, callers)
	errs := make([]error, callers)
	call := func(i int) {
		defer wg.Done()
		got[i], errs[i] = get(i)
	}
	wg.Add(1)
	go call(0) // sent at once, held on the wire
	for hold.pipelines.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < callers; i++ {
		wg.Add(1)
		go call(i)
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.waiting) == callers-1 })
	close(hold.release)
	wg.Wait()

	if n := hold.pipelines.Load(); n != 2 {
		t.Errorf("%d callers sent %d pipelines, want 2 (the first, then every caller that waited for it)", callers, n)
	}
	for i := range callers {
		want, wantErr := fmt.Sprint("v", i), error(nil)
		if i%2 == 1 {
			want, wantErr = "", goredis.Nil
		}
		if got[i] != want || !errors.Is(errs[i], wantErr) || (wantErr == nil && errs[i] != nil) {
			t.Errorf("caller %d got %q, %v; want %q, %v", i, got[i], errs[i], want, wantErr)
		}
	}

	before := hold.pipelines.Load()
	if v, err := get(0); v != "v0" || err != nil {
		t.Fatalf("lone caller: %q, %v", v, err)
	}
	if n := hold.pipelines.Load() - before; n != 1 {
		t.Errorf("a lone caller sent %d pipelines, want 1", n)
	}
	if b.inFlight != 0 || len(b.waiting) != 0 {
		t.Errorf("idle batcher has %d in flight, %d waiting", b.inFlight, len(b.waiting))
	}
}

// TestBatcherFailsWaitersWithFailedRoundTrip: when the round trip in
// flight fails (Redis stalled or gone), the callers queued behind it fail
// with it at once, unsent, instead of waiting for a timeout of their own.
func TestBatcherFailsWaitersWithFailedRoundTrip(t *testing.T) {
	srv := storetest.StartRedis(t)
	ctx := context.Background()
	opts, err := goredis.ParseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil { // the connection's set-up is a pipeline
		t.Fatal(err)
	}
	reset := errors.New("injected: connection reset by peer")
	hold := &holdFirstPipeline{release: make(chan struct{}), fail: reset}
	c.AddHook(hold)
	b := &batcher{c: c, max: 1}
	const callers = 4
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.pipelined(ctx, func(p goredis.Pipeliner) { p.Get(ctx, "k") })
		}()
		if i == 0 {
			waitFor(t, func() bool { return hold.pipelines.Load() == 1 })
		}
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.waiting) == callers-1 })
	close(hold.release)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, reset) {
			t.Errorf("caller %d: %v, want the round trip's error", i, err)
		}
	}
	if n := hold.pipelines.Load(); n != 1 {
		t.Errorf("%d pipelines sent, want 1: the waiting callers fail unsent", n)
	}
	if b.inFlight != 0 {
		t.Errorf("%d in flight after the failure, want 0", b.inFlight)
	}
}

// waitFor polls ok for up to 5 s.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
