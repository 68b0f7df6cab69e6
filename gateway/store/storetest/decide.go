package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// testDecideRace: a suspension racing approvals is never lost. Whatever
// the order, once a suspension has been decided the app's
// TokensValidAfter cuts off every grant made before it, even when an
// approval lands last; each trial races one suspension against several
// approvals through the apps.Registry.
func testDecideRace(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	reg := &apps.Registry{Store: b, Now: c.Now}
	a := newApp("app1", c.Now())
	a.Status = apps.StatusApproved
	wantErr(t, "create app", b.CreateApp(ctx, a), nil)
	for trial := range 20 {
		grantMade := c.Now()
		c.Advance(time.Second)
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				var err error
				if i == 3 {
					_, err = reg.Decide(ctx, "app1", apps.StatusSuspended, "key leaked")
				} else {
					_, err = reg.Decide(ctx, "app1", apps.StatusApproved, "")
				}
				if err != nil {
					t.Errorf("trial %d: decide: %v", trial, err)
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
		c.Advance(time.Second)
	}
}
