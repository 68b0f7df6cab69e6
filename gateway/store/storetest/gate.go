package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// gateOf is a gate on subject's client-auth and introspect keys.
func gateOf(subject string, hold, take oauth.Limit) oauth.Gate {
	return oauth.Gate{Hold: "client-auth:" + subject, HoldLimit: hold, Take: "introspect:" + subject, TakeLimit: take}
}

// wantGated fails unless a gated check judged its gate, with a wait of
// at most every for the held key if hold, none otherwise, and likewise
// for the taken key.
func wantGated(t *testing.T, what string, got oauth.Gated, hold, take bool, every time.Duration) {
	t.Helper()
	if !got.Judged {
		t.Fatalf("%s: gate not judged", what)
	}
	if (got.Hold > 0) != hold || got.Hold < 0 || got.Hold > every {
		t.Fatalf("%s: held key's wait %s, want one (at most %s): %v", what, got.Hold, every, hold)
	}
	if (got.Take > 0) != take || got.Take < 0 || got.Take > every {
		t.Fatalf("%s: taken key's wait %s, want one (at most %s): %v", what, got.Take, every, take)
	}
}

// testCheckAccessGated: CheckAccessGated reads what CheckAccess reads, with
// or without the hint of the token's request and client, and judges its
// gate in the same step: while the held key may have an event, one event
// of the taken key is taken, until its burst is spent; once the held key
// is over its limit, nothing is taken. The gate is judged when the token
// is not found too, and shares its keys' state with Allow and Peek. A
// gate with an invalid limit is an error, not judged.
func testCheckAccessGated(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	app := newApp("app1", c.Now())
	grant := newGrant("req1", "alice", c.Now())
	grant.ClientID = "app1"
	wantErr(t, "create app", b.CreateApp(ctx, app), nil)
	wantErr(t, "create grant", b.CreateGrant(ctx, grant), nil)
	rec := accessRecord("req1", c)
	wantErr(t, "create access", b.CreateToken(ctx, oauth.KindAccess, "sig1", rec), nil)

	hold, take := oauth.Limit{Burst: 2, Every: time.Hour}, oauth.Limit{Burst: 3, Every: time.Hour}
	g := gateOf("s1", hold, take)
	hint := oauth.AccessQuery{Signature: "sig1", RequestID: "req1", ClientID: "app1"}
	for i, q := range []oauth.AccessQuery{{Signature: "sig1"}, hint, hint} {
		got, gated, err := b.CheckAccessGated(ctx, q, g)
		wantErr(t, "gated check", err, nil)
		wantEqual(t, "checked record", checked(got.Record), checked(rec))
		wantEqual(t, "checked app", got.App, app)
		wantEqual(t, "checked grant", got.Grant, grant)
		wantGated(t, fmt.Sprintf("gated check %d", i+1), gated, false, false, time.Hour)
	}
	_, gated, err := b.CheckAccessGated(ctx, hint, g)
	wantErr(t, "gated check beyond the taken burst", err, nil)
	wantGated(t, "gated check beyond the taken burst", gated, false, true, time.Hour)
	wait, err := b.Peek(ctx, g.Take, take)
	wantWait(t, "peek at the taken key", wait, err, time.Hour)

	// Judged for a token not found, and the event taken is Allow's too.
	one := oauth.Limit{Burst: 1, Every: time.Hour}
	g2 := gateOf("s2", hold, one)
	_, gated, err = b.CheckAccessGated(ctx, oauth.AccessQuery{Signature: "nosuch"}, g2)
	wantErr(t, "gated check of a missing token", err, oauth.ErrNotFound)
	wantGated(t, "gated check of a missing token", gated, false, false, time.Hour)
	wait, err = b.Allow(ctx, g2.Take, one)
	wantWait(t, "allow after the gate took the burst", wait, err, time.Hour)

	// A held key over its limit: nothing is taken.
	g3 := gateOf("s3", hold, one)
	for range hold.Burst {
		wait, err = b.Allow(ctx, g3.Hold, hold)
		wantAllowed(t, "allow on the held key", wait, err)
	}
	_, gated, err = b.CheckAccessGated(ctx, hint, g3)
	wantErr(t, "gated check, held key over its limit", err, nil)
	wantGated(t, "gated check, held key over its limit", gated, true, false, time.Hour)
	wait, err = b.Peek(ctx, g3.Take, one)
	wantAllowed(t, "peek at the taken key after a held gate", wait, err)

	_, gated, err = b.CheckAccessGated(ctx, hint, gateOf("s4", oauth.Limit{}, one))
	if err == nil || gated.Judged {
		t.Fatalf("gate with an invalid limit: %+v, %v; want an error, not judged", gated, err)
	}
}

// testCheckAccessGatedRace: 50 concurrent gated checks of one token with
// a taken burst of 10 take exactly 10 events, each judged.
func testCheckAccessGatedRace(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	wantErr(t, "create app", b.CreateApp(ctx, newApp("app1", c.Now())), nil)
	wantErr(t, "create grant", b.CreateGrant(ctx, newGrant("req1", "alice", c.Now())), nil)
	wantErr(t, "create access", b.CreateToken(ctx, oauth.KindAccess, "sig1", accessRecord("req1", c)), nil)
	g := gateOf("s1", oauth.Limit{Burst: 1, Every: time.Hour}, oauth.Limit{Burst: 10, Every: time.Hour})
	q := oauth.AccessQuery{Signature: "sig1", RequestID: "req1", ClientID: "app1"}
	var taken atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, gated, err := b.CheckAccessGated(ctx, q, g)
			if err != nil || !gated.Judged || gated.Hold != 0 {
				t.Errorf("gated check: %+v, %v", gated, err)
			}
			if gated.Judged && gated.Take == 0 {
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if n := taken.Load(); n != 10 {
		t.Fatalf("%d of 50 concurrent gated checks took an event, want 10", n)
	}
}
