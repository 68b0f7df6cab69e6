package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/webhook"
)

func newDelivery(id, client string, c *Clock, due time.Duration) webhook.Delivery {
	return webhook.Delivery{ID: id, ClientID: client, URL: "https://app.example/hooks", Event: webhook.EventGrantRevoked,
		Token: "header.payload." + id, CreatedAt: c.Now(), Status: webhook.StatusPending, NextAttempt: c.Now().Add(due)}
}

func ids(list []webhook.Delivery) []string {
	out := []string{}
	for _, d := range list {
		out = append(out, d.ID)
	}
	return out
}

// testDeliveries: a delivery is claimed when due, by one claim at a time
// until its lease ends; an attempt puts it back for its next try or takes
// it out for good; admins list them newest first, all or by app.
func testDeliveries(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	const lease = time.Minute
	for _, d := range []webhook.Delivery{newDelivery("d1", "app1", c, 0), newDelivery("d2", "app2", c, -time.Second), newDelivery("d3", "app1", c, time.Hour)} {
		wantErr(t, "create delivery "+d.ID, b.CreateDelivery(ctx, d), nil)
		c.Advance(time.Millisecond)
	}
	wantErr(t, "create a duplicate", b.CreateDelivery(ctx, newDelivery("d1", "app9", c, 0)), webhook.ErrAlreadyExists)
	wantErr(t, "update a missing delivery", b.UpdateDelivery(ctx, newDelivery("nope", "app1", c, 0)), webhook.ErrNotFound)

	got, err := b.ClaimDeliveries(ctx, c.Now(), lease, 10)
	wantErr(t, "claim", err, nil)
	wantEqual(t, "due deliveries, longest waiting first", ids(got), []string{"d2", "d1"})
	wantEqual(t, "claimed delivery", got[1], newDeliveryAt("d1", "app1", got[1].CreatedAt))
	again, _ := b.ClaimDeliveries(ctx, c.Now(), lease, 10)
	wantEqual(t, "claim while leased", ids(again), []string{})

	// d2 fails and is due again in a minute; d1 is delivered.
	d2 := got[0]
	d2.Attempts, d2.LastResult, d2.NextAttempt = 1, "HTTP 503", c.Now().Add(30*time.Second)
	wantErr(t, "record a failed attempt", b.UpdateDelivery(ctx, d2), nil)
	d1 := got[1]
	d1.Attempts, d1.Status, d1.DeliveredAt, d1.NextAttempt = 1, webhook.StatusDelivered, c.Now(), time.Time{}
	wantErr(t, "record a delivery", b.UpdateDelivery(ctx, d1), nil)
	c.Advance(30 * time.Second)
	got, _ = b.ClaimDeliveries(ctx, c.Now(), lease, 10)
	wantEqual(t, "retry due", got, []webhook.Delivery{d2})

	// Nobody records d2's second attempt (a replica died): its lease ends
	// and another claim takes it.
	c.Advance(lease + time.Millisecond)
	got, _ = b.ClaimDeliveries(ctx, c.Now(), lease, 10)
	wantEqual(t, "after the lease", ids(got), []string{"d2"})
	c.Advance(time.Hour)
	got, _ = b.ClaimDeliveries(ctx, c.Now(), lease, 1)
	wantEqual(t, "limit", len(got), 1)

	list, err := b.ListDeliveries(ctx, "", 10)
	wantErr(t, "list", err, nil)
	wantEqual(t, "all, newest first", ids(list), []string{"d3", "d2", "d1"})
	wantEqual(t, "listed delivered one", list[2], d1)
	list, _ = b.ListDeliveries(ctx, "app1", 10)
	wantEqual(t, "one app's", ids(list), []string{"d3", "d1"})
	list, _ = b.ListDeliveries(ctx, "app1", 1)
	wantEqual(t, "limit", ids(list), []string{"d3"})
	list, _ = b.ListDeliveries(ctx, "app3", 10)
	wantEqual(t, "an app without any", ids(list), []string{})
}

func newDeliveryAt(id, client string, created time.Time) webhook.Delivery {
	return webhook.Delivery{ID: id, ClientID: client, URL: "https://app.example/hooks", Event: webhook.EventGrantRevoked,
		Token: "header.payload." + id, CreatedAt: created, Status: webhook.StatusPending, NextAttempt: created}
}

// testDeliveryClaimRace: concurrent claims (replicas) never hand out one
// delivery twice.
func testDeliveryClaimRace(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	const n = 40
	for i := range n {
		wantErr(t, "create", b.CreateDelivery(ctx, newDelivery(fmt.Sprintf("d%02d", i), "app1", c, 0)), nil)
	}
	var mu sync.Mutex
	var claimed []string
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				got, err := b.ClaimDeliveries(ctx, c.Now(), time.Minute, 3)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				claimed = append(claimed, ids(got)...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(claimed)
	if len(claimed) != n || len(slices.Compact(slices.Clone(claimed))) != n {
		t.Fatalf("%d claims of %d deliveries (%d distinct)", len(claimed), n, len(slices.Compact(claimed)))
	}
}

// testDeliveriesForgotten: a revocation notice is kept the audit retention
// (apps.DefaultAuditRetention unless configured) after it was made, then
// forgotten whatever its state: not listed (all or by app), not claimed,
// not updated.
func testDeliveriesForgotten(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	old := newDelivery("d1", "app1", c, 0)
	wantErr(t, "create d1", b.CreateDelivery(ctx, old), nil)
	c.Advance(time.Hour)
	young := newDelivery("d2", "app1", c, 0)
	wantErr(t, "create d2", b.CreateDelivery(ctx, young), nil)
	young.Status, young.Attempts, young.DeliveredAt = webhook.StatusDelivered, 1, c.Now()
	wantErr(t, "deliver d2", b.UpdateDelivery(ctx, young), nil)
	list := func(clientID string) []string {
		t.Helper()
		got, err := b.ListDeliveries(ctx, clientID, 10)
		wantErr(t, "list deliveries", err, nil)
		return ids(got)
	}

	c.Advance(apps.DefaultAuditRetention - time.Hour - time.Millisecond)
	wantEqual(t, "deliveries just before d1 is forgotten", list(""), []string{"d2", "d1"})
	wantEqual(t, "app1's deliveries just before d1 is forgotten", list("app1"), []string{"d2", "d1"})

	c.Advance(time.Millisecond)
	wantEqual(t, "deliveries once d1 is forgotten", list(""), []string{"d2"})
	wantEqual(t, "app1's deliveries once d1 is forgotten", list("app1"), []string{"d2"})
	claimed, err := b.ClaimDeliveries(ctx, c.Now(), time.Minute, 10)
	wantErr(t, "claim", err, nil)
	wantEqual(t, "claimed once d1 is forgotten", ids(claimed), []string{})
	old.Attempts = 1
	wantErr(t, "update d1 once forgotten", b.UpdateDelivery(ctx, old), webhook.ErrNotFound)

	c.Advance(time.Hour)
	wantEqual(t, "deliveries once both are forgotten", list(""), []string{})
	wantEqual(t, "app1's deliveries once both are forgotten", list("app1"), []string{})
}
