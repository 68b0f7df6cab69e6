package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// testMemberEvents: every event that names a member is in that member's
// history, found by member and app, newest first, with the client IP; the
// plan's trail (ListEvents) has the same events without it.
func testMemberEvents(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	none, err := b.ListMemberEvents(ctx, "alice", "", 10)
	wantErr(t, "history of a member without events", err, nil)
	if none == nil || len(none) != 0 {
		t.Fatalf("history without events = %#v, want an empty non-nil slice", none)
	}
	var all []apps.Event
	for i := range 7 {
		member, client := "alice", "app1"
		switch i {
		case 2:
			member = "bob"
		case 3, 5:
			client = "app2"
		case 4:
			member = "" // an event naming no member (an admin decision)
		}
		e := apps.Event{Time: c.Now().Add(time.Duration(i) * time.Second), Action: "fhir.search", Outcome: "success",
			Member: member, Patient: "pat-" + member, ClientID: client, ResourceTypes: []string{"Coverage"}, Count: i,
			ClientIP: fmt.Sprintf("203.0.113.%d", i)}
		wantErr(t, "append event", b.AppendEvent(ctx, e), nil)
		all = append([]apps.Event{e}, all...) // newest first
	}
	pick := func(member, client string) []apps.Event {
		out := []apps.Event{}
		for _, e := range all {
			if e.Member == member && (client == "" || e.ClientID == client) {
				out = append(out, e)
			}
		}
		return out
	}
	for _, tt := range []struct {
		member, client string
		limit          int
		want           []apps.Event
	}{
		{"alice", "", 100, pick("alice", "")},
		{"alice", "app1", 100, pick("alice", "app1")},
		{"alice", "app2", 100, pick("alice", "app2")},
		{"alice", "app1", 2, pick("alice", "app1")[:2]},
		{"bob", "", 100, pick("bob", "")},
		{"carol", "", 100, []apps.Event{}},
		{"alice", "app3", 100, []apps.Event{}},
		{"alice", "", 0, []apps.Event{}},
		{"", "", 100, []apps.Event{}},
	} {
		got, err := b.ListMemberEvents(ctx, tt.member, tt.client, tt.limit)
		wantErr(t, "list member events", err, nil)
		wantEqual(t, fmt.Sprintf("history of %q, app %q, limit %d", tt.member, tt.client, tt.limit), got, tt.want)
	}
	trail, err := b.ListEvents(ctx, 100)
	wantErr(t, "list events", err, nil)
	if len(trail) != len(all) {
		t.Fatalf("the plan's trail has %d events, want %d", len(trail), len(all))
	}
	for i, e := range trail {
		want := all[i]
		want.ClientIP = ""
		wantEqual(t, "trail event without its client IP", e, want)
	}
	got, _ := b.ListMemberEvents(ctx, "alice", "", 1)
	got[0].ResourceTypes[0] = "Claim"
	again, _ := b.ListMemberEvents(ctx, "alice", "", 1)
	wantEqual(t, "history after the caller changed what it read", again, pick("alice", "")[:1])
}

// testMemberEventsFarBack: an app's events are found however many of the
// member's events with other apps came after them.
func testMemberEventsFarBack(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	first := apps.Event{Time: c.Now(), Action: "fhir.read", Outcome: "success", Member: "alice", ClientID: "app1", ClientIP: "198.51.100.7"}
	wantErr(t, "append event", b.AppendEvent(ctx, first), nil)
	for i := range 1100 {
		e := apps.Event{Time: c.Now().Add(time.Duration(i+1) * time.Millisecond), Action: "fhir.read", Outcome: "success", Member: "alice", ClientID: "app2"}
		wantErr(t, "append event", b.AppendEvent(ctx, e), nil)
	}
	got, err := b.ListMemberEvents(ctx, "alice", "app1", 10)
	wantErr(t, "list member events", err, nil)
	wantEqual(t, "app1's one event behind 1100 of app2", got, []apps.Event{first})
}
