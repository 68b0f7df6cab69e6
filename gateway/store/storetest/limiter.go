package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// serverClock reports a backend whose limiter reads a clock the suite
// cannot move (Redis: the server's TIME), as Expirer backends do: the
// suite then lets real time pass, under short limits, besides moving the
// Clock.
func serverClock(b Backend) bool {
	_, ok := b.(Expirer)
	return ok
}

// pass lets d go by for the backend's limiter.
func pass(b Backend, c *Clock, d time.Duration) {
	c.Advance(d)
	if serverClock(b) {
		time.Sleep(d + 50*time.Millisecond)
	}
}

// wantWait fails unless a limiter call returned a wait in (0, max].
func wantWait(t *testing.T, what string, wait time.Duration, err error, max time.Duration) {
	t.Helper()
	wantErr(t, what, err, nil)
	if wait <= 0 || wait > max {
		t.Fatalf("%s: wait %s, want more than 0 and at most %s", what, wait, max)
	}
}

// wantAllowed fails unless a limiter call allowed the event.
func wantAllowed(t *testing.T, what string, wait time.Duration, err error) {
	t.Helper()
	wantErr(t, what, err, nil)
	if wait != 0 {
		t.Fatalf("%s: wait %s, want 0 (allowed)", what, wait)
	}
}

// testLimiterBurst: a fresh key has its whole burst; beyond it, Allow and
// Peek report the wait for the next event and take nothing; keys are
// independent; a limit without a burst or a period is an error.
func testLimiterBurst(t *testing.T, b Backend, _ *Clock) {
	ctx := context.Background()
	l := oauth.Limit{Burst: 3, Every: time.Hour}
	wait, err := b.Peek(ctx, "login:k1", l)
	wantAllowed(t, "peek a fresh key", wait, err)
	for range 3 {
		wait, err = b.Allow(ctx, "login:k1", l)
		wantAllowed(t, "allow within the burst", wait, err)
	}
	first, err := b.Allow(ctx, "login:k1", l)
	wantWait(t, "allow beyond the burst", first, err, time.Hour)
	if first < 59*time.Minute {
		t.Fatalf("wait beyond the burst: %s, want about one period (1h)", first)
	}
	wait, err = b.Peek(ctx, "login:k1", l)
	wantWait(t, "peek beyond the burst", wait, err, first)
	wait, err = b.Allow(ctx, "login:k1", l)
	wantWait(t, "allow again beyond the burst (a refused event takes nothing)", wait, err, first)
	wait, err = b.Allow(ctx, "login:k2", l)
	wantAllowed(t, "another key", wait, err)
	for _, bad := range []oauth.Limit{{Burst: 0, Every: time.Second}, {Burst: 1}} {
		if _, err := b.Allow(ctx, "login:k3", bad); err == nil {
			t.Fatalf("allow under limit %+v: no error", bad)
		}
	}
}

// testLimiterWindow: once the wait has passed, exactly one more event is
// allowed; Peek takes nothing.
func testLimiterWindow(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	l := oauth.Limit{Burst: 1, Every: 500 * time.Millisecond}
	wait, err := b.Allow(ctx, "client-auth:k1", l)
	wantAllowed(t, "first event", wait, err)
	wait, err = b.Allow(ctx, "client-auth:k1", l)
	wantWait(t, "second event at once", wait, err, l.Every)
	pass(b, c, wait)
	for range 2 {
		wait, err = b.Peek(ctx, "client-auth:k1", l)
		wantAllowed(t, "peek after the wait", wait, err)
	}
	wait, err = b.Allow(ctx, "client-auth:k1", l)
	wantAllowed(t, "event after the wait", wait, err)
	wait, err = b.Allow(ctx, "client-auth:k1", l)
	wantWait(t, "next event at once", wait, err, l.Every)
}

// testLimiterRace: 50 concurrent events on one key with a burst of 10:
// exactly 10 are allowed, on every replica alike.
func testLimiterRace(t *testing.T, b Backend, _ *Clock) {
	ctx := context.Background()
	l := oauth.Limit{Burst: 10, Every: time.Hour}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			wait, err := b.Allow(ctx, "introspect:k1", l)
			if err != nil {
				t.Errorf("allow: %v", err)
			}
			if err == nil && wait == 0 {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 10 {
		t.Fatalf("%d of 50 concurrent events allowed, want 10", n)
	}
}
