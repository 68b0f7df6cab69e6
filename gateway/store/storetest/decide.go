package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// testDecideRace: a suspension racing reinstatements is never lost.
// Whatever the order, once a suspension has been decided the app's
// TokensValidAfter cuts off every grant made before it, even when a
// reinstatement lands last; a reinstatement of an app not suspended is
// refused (apps.ErrConflict), never applied to a status it did not see.
// Each trial races one suspension against several reinstatements through
// the apps.Registry, and every decision that landed is in the history.
func testDecideRace(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	reg := &apps.Registry{Store: b, Now: c.Now}
	a := newApp("app1", c.Now())
	a.Status = apps.StatusApproved
	wantErr(t, "create app", b.CreateApp(ctx, a), nil)
	admin := apps.Actor{Kind: apps.ActorAdmin, ID: "jane", Name: "Jane Admin"}
	landed := 0
	for trial := range 10 {
		if got, _ := b.GetApp(ctx, "app1"); got.Status != apps.StatusApproved {
			t.Fatalf("trial %d starts with status %s", trial, got.Status)
		}
		grantMade := c.Now()
		c.Advance(time.Second)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range 6 {
			wg.Go(func() {
				var err error
				if i == 3 {
					_, err = reg.Decide(ctx, "app1", apps.DecisionRequest{Action: apps.ActionSuspend, Actor: admin,
						Criteria: []string{apps.CritCompromise}, Evidence: "key leaked"})
				} else {
					_, err = reg.Decide(ctx, "app1", apps.DecisionRequest{Action: apps.ActionReinstate, Actor: admin})
				}
				switch {
				case err == nil:
					mu.Lock()
					landed++
					mu.Unlock()
				case i != 3 && errors.Is(err, apps.ErrConflict):
				default:
					t.Errorf("trial %d: decide %d: %v", trial, i, err)
				}
			})
		}
		wg.Wait()
		got, err := b.GetApp(ctx, "app1")
		wantErr(t, "get app", err, nil)
		if !got.TokensValidAfter.After(grantMade) {
			t.Fatalf("trial %d: after a suspension TokensValidAfter = %v, not after a grant made at %v: pre-suspension tokens work again (status %s)",
				trial, got.TokensValidAfter, grantMade, got.Status)
		}
		if got.Status == apps.StatusSuspended {
			_, err := reg.Decide(ctx, "app1", apps.DecisionRequest{Action: apps.ActionReinstate, Actor: admin})
			wantErr(t, "reinstate", err, nil)
			landed++
		}
		c.Advance(time.Second)
	}
	h, err := b.ListHistory(ctx, "app1")
	wantErr(t, "list history", err, nil)
	if len(h) != landed {
		t.Fatalf("history holds %d entries, want the %d decisions that landed", len(h), landed)
	}
}
