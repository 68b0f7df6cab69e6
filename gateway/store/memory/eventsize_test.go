package memory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// heapPerEvent is what one kept audit event may cost on the heap where
// chunks are ordinary slices: the embedded store keeps every FHIR call's
// event for the audit retention, so this, twice over for the collector's
// headroom, is most of the gateway's growth per request. A FHIR read's
// record is about 30 bytes (flags, the time from its chunk's base, nine
// table ids, the count, the 12 bytes of the gateway's request id) and 2
// of offset; the rest of the budget is the last chunk's spare capacity
// and the interned strings, shared by all the events that repeat them.
const heapPerEvent = 48

// offHeapPerEvent is the same budget where chunks are mapped outside the
// Go heap (Linux): what is left on the heap is a chunk's header and its
// place in the log, shared by 512 events, and the interned strings.
const offHeapPerEvent = 2

// TestEventHeapPerEvent appends events shaped as a FHIR read's (the
// gateway's own random request id, a few members, apps and addresses) and
// measures, after a collection, the heap they keep; then reads every one
// of them back.
func TestEventHeapPerEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 100,000 events")
	}
	ctx := context.Background()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := start
	s := New(func() time.Time { return now })
	const n = 100_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	id := make([]byte, 12)
	ids := make([]byte, 0, 12*n) // the request ids, to read back; measured without them
	for i := range n {
		_, _ = rand.Read(id)
		ids = append(ids, id...)
		if err := s.AppendEvent(ctx, readEvent(now, i, hex.EncodeToString(id))); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc) - int64(cap(ids))) / n
	budget := int64(heapPerEvent)
	if chunksOffHeap {
		budget = offHeapPerEvent
	}
	t.Logf("%d B of heap per kept event (budget %d; chunks off the heap: %t)", per, budget, chunksOffHeap)
	if per > budget {
		t.Errorf("a kept audit event costs %d B of heap, over its budget of %d B", per, budget)
	}
	got, err := s.ListEvents(ctx, n)
	if err != nil || len(got) != n {
		t.Fatalf("listed %d events, %v; want %d", len(got), err, n)
	}
	for j, e := range got {
		i := n - 1 - j
		want := readEvent(start.Add(time.Duration(i)*time.Millisecond), i, hex.EncodeToString(ids[12*i:12*i+12]))
		want.ClientIP = "" // not in the plan's listing
		if !reflect.DeepEqual(e, want) {
			t.Fatalf("event %d came back as %+v, want %+v", i, e, want)
		}
	}
}

// readEvent is the i-th event of a FHIR read at now: a few members, apps
// and addresses repeat.
func readEvent(now time.Time, i int, requestID string) apps.Event {
	member := fmt.Sprint("member-", i%50)
	return apps.Event{Time: now, Action: "fhir.read", Outcome: "success", Member: member,
		Patient: member + "-1001", ClientID: fmt.Sprint("app-", i%7), ResourceTypes: []string{"Patient"},
		Count: 1, RequestID: requestID, ClientIP: fmt.Sprint("192.0.2.", i%5)}
}

// TestEventRoundTrip: an event comes back from its compact record as it
// went in (bounded): every kind of request id, time zone and list of
// resource types.
func TestEventRoundTrip(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	base := apps.Event{Time: now, Action: "fhir.search", Outcome: "success", Member: "alice", Patient: "alice-1001",
		ClientID: "app1", ResourceTypes: []string{"ExplanationOfBenefit"}, Count: 20, Reason: "r", Actor: "admin:jane",
		RequestID: "0123456789abcdef01234567", ClientIP: "2001:db8::1"}
	for _, tt := range []struct {
		name string
		edit func(e *apps.Event)
	}{
		{"gateway request id", func(*apps.Event) {}},
		{"no request id", func(e *apps.Event) { e.RequestID = "" }},
		{"32 hex digits", func(e *apps.Event) { e.RequestID = "0123456789abcdef0123456789abcdef" }},
		{"odd hex length", func(e *apps.Event) { e.RequestID = "abc" }},
		{"34 hex digits", func(e *apps.Event) { e.RequestID = "0123456789abcdef0123456789abcdef01" }},
		{"upper-case hex", func(e *apps.Event) { e.RequestID = "0123456789ABCDEF01234567" }},
		{"uuid", func(e *apps.Event) { e.RequestID = "f47ac10b-58cc-4372-a567-0e02b2c3d479" }},
		{"upper-case uuid", func(e *apps.Event) { e.RequestID = "F47AC10B-58CC-4372-A567-0E02B2C3D479" }},
		{"proxy id", func(e *apps.Event) { e.RequestID = "edge-1-xyz" }},
		{"nil types", func(e *apps.Event) { e.ResourceTypes = nil }},
		{"empty types", func(e *apps.Event) { e.ResourceTypes = []string{} }},
		{"one empty type", func(e *apps.Event) { e.ResourceTypes = []string{""} }},
		{"many types", func(e *apps.Event) { e.ResourceTypes = []string{"Patient", "", "Coverage", string(make([]byte, 200))} }},
		{"time zone", func(e *apps.Event) { e.Time = now.In(paris) }},
		{"local time", func(e *apps.Event) { e.Time = now.Local() }},
		{"year 2300", func(e *apps.Event) { e.Time = time.Date(2300, 1, 2, 3, 4, 5, 999999999, time.UTC) }},
		{"negative count", func(e *apps.Event) { e.Count = -1 }},
		{"huge count", func(e *apps.Event) { e.Count = 1 << 40 }},
		{"control characters", func(e *apps.Event) { e.Reason = "a\x00b\nc"; e.Member = "alice\x00" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := New(func() time.Time { return now })
			e := base
			tt.edit(&e)
			if err := s.AppendEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
			want := e.Bounded()
			got, err := s.ListMemberEvents(ctx, want.Member, want.ClientID, 10)
			if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Fatalf("member's events = %#v, %v\nwant [%#v]", got, err, want)
			}
			want.ClientIP = ""
			if got, err = s.ListEvents(ctx, 10); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Fatalf("plan's events = %#v, %v\nwant [%#v]", got, err, want)
			}
		})
	}
}

// TestEventWithdrawReleasesStrings: a withdrawn event's strings are not
// kept for it, and its place is reused by no other event.
func TestEventWithdrawReleasesStrings(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(func() time.Time { return now })
	kept := apps.Event{Time: now, Action: "token", Member: "alice", RequestID: "kept-1"}
	if err := s.AppendEvent(ctx, kept); err != nil {
		t.Fatal(err)
	}
	_, refs, err := s.CheckAccessAppend(ctx, oauth.AccessQuery{Signature: "none"}, []apps.Event{
		{Time: now, Action: "fhir.read", Member: "bob", ClientIP: "192.0.2.9", RequestID: "gone-1", ResourceTypes: []string{"Claim"}},
	})
	if err == nil || len(refs) != 1 {
		t.Fatalf("check of an unknown token = %v, %d refs; want an error and 1 ref", err, len(refs))
	}
	if err := s.WithdrawEvents(ctx, refs); err != nil {
		t.Fatal(err)
	}
	if n := s.events.strs.len(); n != 3 { // token, alice, kept-1
		t.Errorf("%d interned strings after the withdrawal, want 3", n)
	}
	after := apps.Event{Time: now, Action: "token", Member: "carol"}
	if err := s.AppendEvent(ctx, after); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListEvents(ctx, 10)
	if want := []apps.Event{after, kept}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("events = %+v, %v; want %+v", got, err, want)
	}
}

// TestEventWithdrawAfterRetention: refs still find their events once the
// retention has dropped whole chunks before them, and a ref to a dropped
// event removes nothing.
func TestEventWithdrawAfterRetention(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(func() time.Time { return now }, WithAuditRetention(time.Hour))
	for range 2*eventChunk + 10 {
		if err := s.AppendEvent(ctx, apps.Event{Time: now, Action: "old"}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Hour)
	first := apps.Event{Time: now, Action: "first"}
	if err := s.AppendEvent(ctx, first); err != nil {
		t.Fatal(err)
	}
	_, refs, _ := s.CheckAccessAppend(ctx, oauth.AccessQuery{Signature: "none"}, []apps.Event{{Time: now, Action: "withdrawn"}})
	last := apps.Event{Time: now, Action: "last"}
	if err := s.AppendEvent(ctx, last); err != nil {
		t.Fatal(err)
	}
	if err := s.WithdrawEvents(ctx, append(refs, oauth.EventRef{ID: "5"}, oauth.EventRef{ID: "999999"})); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListEvents(ctx, 10)
	if want := []apps.Event{last, first}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("events = %+v, %v; want %+v", got, err, want)
	}
}

// TestRecordTimes: a record's time comes back to the nanosecond from any
// base, within the int64 nanoseconds (a difference from the chunk's
// first time) and outside them (seconds and nanoseconds).
func TestRecordTimes(t *testing.T) {
	for _, at := range []time.Time{
		{}, time.Unix(0, 0), time.Unix(-1, 1), time.Unix(-1, 999999999), time.Unix(1, 0),
		time.Date(1677, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 5, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	} {
		for _, base := range []int64{0, -1 << 63, 1<<63 - 1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()} {
			r := record{sec: at.Unix(), nsec: int64(at.Nanosecond()), count: -5, member: 300}
			got := decode(r.encode(nil, base), base)
			if got.sec != r.sec || got.nsec != r.nsec || got.count != -5 || got.member != 300 {
				t.Errorf("%v from base %d came back as %d s %d ns, count %d, member %d", at, base, got.sec, got.nsec, got.count, got.member)
			}
		}
	}
}
