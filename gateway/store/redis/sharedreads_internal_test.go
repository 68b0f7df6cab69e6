package redis

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// recordPipelines holds the first pipeline with an XADD in it until
// release is closed, as a slow round trip would, and keeps the names and
// first keys of the commands of every such pipeline.
type recordPipelines struct {
	release chan struct{}
	held    atomic.Bool
	mu      sync.Mutex
	sent    [][]string // "name key" of each command, per pipeline
}

func (h *recordPipelines) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *recordPipelines) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }

func (h *recordPipelines) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		var names []string
		xadd := false
		for _, c := range cmds {
			key, _ := c.Args()[1].(string)
			names = append(names, c.Name()+" "+key)
			xadd = xadd || c.Name() == "xadd"
		}
		if xadd {
			h.mu.Lock()
			h.sent = append(h.sent, names)
			h.mu.Unlock()
			if h.held.CompareAndSwap(false, true) {
				<-h.release
			}
		}
		return next(ctx, cmds)
	}
}

// TestBatchSharesReads: FHIR calls with one token that go out in one
// batch read the token's record, its grant and the apps version once for
// all of them, not once each; each still appends its own audit events and
// gets its own answer.
func TestBatchSharesReads(t *testing.T) {
	ctx := context.Background()
	s, c := openInternal(t)
	s.batch.max = 1
	q, event := checkFixture(t, s)
	if _, _, err := s.CheckAccessAppend(ctx, q, []apps.Event{event}); err != nil { // the app and grant kept
		t.Fatal(err)
	}
	rec := &recordPipelines{release: make(chan struct{})}
	c.AddHook(rec)

	const calls = 8
	var wg sync.WaitGroup
	checks := make([]oauth.AccessCheck, calls)
	refs := make([]oauth.EventRefs, calls)
	errs := make([]error, calls)
	call := func(i int) {
		defer wg.Done()
		checks[i], refs[i], errs[i] = s.CheckAccessAppend(ctx, q, []apps.Event{event})
	}
	wg.Add(1)
	go call(0) // sent at once, held on the wire
	waitFor(t, func() bool { return rec.held.Load() })
	for i := 1; i < calls; i++ {
		wg.Add(1)
		go call(i)
	}
	waitFor(t, func() bool { s.batch.mu.Lock(); defer s.batch.mu.Unlock(); return len(s.batch.waiting) == calls-1 })
	close(rec.release)
	wg.Wait()

	if len(rec.sent) != 2 {
		t.Fatalf("%d pipelines sent, want 2 (the first call's, then the other calls' together): %q", len(rec.sent), rec.sent)
	}
	count := map[string]int{}
	for _, cmd := range rec.sent[1] {
		count[cmd]++
	}
	want := map[string]int{
		"hget " + s.indexKey("req1"):         1,
		"get " + s.grantKey("req1"):          1,
		"get " + s.appsVersionKey():          1,
		"xadd " + s.eventsKey():              calls - 1,
		"xadd " + s.memberEventsKey("alice"): calls - 1,
	}
	for cmd, n := range want {
		if count[cmd] != n {
			t.Errorf("the batch of %d calls sends %q %d times, want %d: %q", calls-1, cmd, count[cmd], n, rec.sent[1])
		}
	}
	if len(rec.sent[1]) != 3+2*(calls-1) {
		t.Errorf("the batch sends %d commands, want %d: %q", len(rec.sent[1]), 3+2*(calls-1), rec.sent[1])
	}
	ids := map[string]bool{}
	for i := range calls {
		if errs[i] != nil || !checks[i].Record.Active || checks[i].Grant.ID != "req1" || checks[i].App.ClientID != "app1" {
			t.Errorf("call %d: %+v, %v", i, checks[i], errs[i])
		}
		if len(refs[i]) != 2 {
			t.Errorf("call %d appended %d events, want 2 (the plan's and the member's)", i, len(refs[i]))
		}
		for _, r := range refs[i] {
			if ids[r.Log+" "+r.ID] {
				t.Errorf("call %d shares its audit entry %s %s", i, r.Log, r.ID)
			}
			ids[r.Log+" "+r.ID] = true
		}
	}
}
