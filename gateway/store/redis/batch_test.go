package redis_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// slowPipelines counts the pipelines the client sends with an XADD (an
// audit append) in them, and holds each one until release is closed, as
// a slow round trip would. (A new connection's set-up is a pipeline too.)
type slowPipelines struct {
	sent    atomic.Int64
	release chan struct{}
}

func (h *slowPipelines) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *slowPipelines) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }

func (h *slowPipelines) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if slices.ContainsFunc(cmds, func(c goredis.Cmder) bool { return c.Name() == "xadd" }) {
			h.sent.Add(1)
			<-h.release
		}
		return next(ctx, cmds)
	}
}

// TestConcurrentChecksShareRoundTrips: FHIR calls that check their token
// (and record their audit event) while Redis is busy with earlier ones do
// not each send a pipeline of their own: they go out together once one
// returns, so 16 concurrent calls cost Redis a few round trips, not 16.
// Each still gets its own answer and its own audit entries.
func TestConcurrentChecksShareRoundTrips(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c)
	now := time.Now()
	app := apps.App{ClientID: "app1", Name: "App", Status: apps.StatusApproved, CreatedAt: now}
	if err := s.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	const calls = 16
	for i := range calls {
		id := fmt.Sprint("req", i)
		grant := apps.Grant{ID: id, Member: "alice", Patient: "pat-alice", ClientID: "app1", Scopes: []string{"patient/*.rs"},
			ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		if err := s.CreateGrant(ctx, grant); err != nil {
			t.Fatal(err)
		}
		rec := oauth.TokenRecord{RequestID: id, ClientID: "app1", Active: true, ExpiresAt: now.Add(time.Hour),
			Claims: []byte{0x01}, Request: []byte("{}")}
		if err := s.CreateToken(ctx, oauth.KindAccess, fmt.Sprint("sig", i), rec); err != nil {
			t.Fatal(err)
		}
	}
	slow := &slowPipelines{release: make(chan struct{})}
	c.AddHook(slow)

	var wg sync.WaitGroup
	checks := make([]oauth.AccessCheck, calls)
	errs := make([]error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := oauth.AccessQuery{Signature: fmt.Sprint("sig", i), RequestID: fmt.Sprint("req", i), ClientID: "app1"}
			ev := apps.Event{Time: now, Action: "fhir.read", ClientID: "app1", Member: "alice", Outcome: fmt.Sprint("call", i)}
			checks[i], _, errs[i] = s.CheckAccessAppend(ctx, q, []apps.Event{ev})
		}()
	}
	time.Sleep(300 * time.Millisecond) // every call has reached Redis, or queued for it
	close(slow.release)
	wg.Wait()

	if n := slow.sent.Load(); n > calls/4 {
		t.Errorf("%d concurrent checks sent %d pipelines, want them to share a few", calls, n)
	}
	for i := range calls {
		if errs[i] != nil || checks[i].Grant.ID != fmt.Sprint("req", i) || !checks[i].Record.Active || checks[i].App.ClientID != "app1" {
			t.Errorf("check %d: %+v, %v", i, checks[i].Grant, errs[i])
		}
	}
	entries, err := c.XLen(ctx, prefix+"events").Result()
	if err != nil || entries != calls {
		t.Errorf("the plan's audit stream holds %d entries (%v), want %d", entries, err, calls)
	}
}

// TestConcurrentAppendsShareRoundTrips: audit appends made while Redis is
// busy with earlier ones (a gateway in upstream mode records each FHIR
// call so, after its token check) go out together too, and every event is
// kept.
func TestConcurrentAppendsShareRoundTrips(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c)
	slow := &slowPipelines{release: make(chan struct{})}
	c.AddHook(slow)
	const calls = 16
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.AppendEvent(ctx, apps.Event{Time: time.Now(), Action: "fhir.read", ClientID: "app1", Member: "alice"})
		}()
	}
	time.Sleep(300 * time.Millisecond) // every call has reached Redis, or queued for it
	close(slow.release)
	wg.Wait()

	if n := slow.sent.Load(); n > calls/4 {
		t.Errorf("%d concurrent appends sent %d pipelines, want them to share a few", calls, n)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("append %d: %v", i, err)
		}
	}
	for _, stream := range []string{prefix + "events", prefix + "mevents:alice"} {
		if n, err := c.XLen(ctx, stream).Result(); err != nil || n != calls {
			t.Errorf("%s holds %d entries (%v), want %d", stream, n, err, calls)
		}
	}
}
