package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// testEventsBounded: an event with fields of megabytes (a client_id sent
// by anyone to the token endpoint) is stored bounded, as Event.Bounded
// makes it.
func testEventsBounded(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	huge := strings.Repeat("x", 5<<20)
	e := apps.Event{Time: c.Now(), Action: "token", Outcome: "denied", ClientID: huge, Reason: huge, Member: huge,
		ResourceTypes: []string{huge, huge}}
	wantErr(t, "append a huge event", b.AppendEvent(ctx, e), nil)
	got, err := b.ListEvents(ctx, 1)
	wantErr(t, "list events", err, nil)
	if len(got) != 1 {
		t.Fatalf("listed %d events, want 1", len(got))
	}
	wantEqual(t, "stored event", got[0], e.Bounded())
	if n := len(got[0].ClientID) + len(got[0].Reason) + len(got[0].Member); n > 2*apps.MaxEventField+apps.MaxEventReason {
		t.Fatalf("a 5 MiB client_id became a %d-byte record", n)
	}
}

// testEventsRetention: events are kept for the retention period
// (apps.DefaultAuditRetention unless configured), by time and not by
// count: an event is listed until it is that old, and not after.
func testEventsRetention(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	old := apps.Event{Time: c.Now(), Action: "fhir.read", Outcome: "success", ClientID: "app1"}
	wantErr(t, "append", b.AppendEvent(ctx, old), nil)
	c.Advance(apps.DefaultAuditRetention - time.Millisecond)
	got, err := b.ListEvents(ctx, 10)
	wantErr(t, "list events", err, nil)
	wantEqual(t, "events within the retention", got, []apps.Event{old})

	c.Advance(time.Millisecond)
	recent := apps.Event{Time: c.Now(), Action: "fhir.search", Outcome: "success", ClientID: "app1"}
	wantErr(t, "append", b.AppendEvent(ctx, recent), nil)
	got, err = b.ListEvents(ctx, 10)
	wantErr(t, "list events", err, nil)
	wantEqual(t, "events after the oldest is past the retention", got, []apps.Event{recent})
}
