package memory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// BenchmarkListMemberEvents reads one member's newest events behind
// 100,000 of other members': the listing scans the log from the newest.
func BenchmarkListMemberEvents(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(func() time.Time { return now })
	for i := range 100_000 {
		member := fmt.Sprint("member-", i%1000)
		if i == 10 {
			member = "alice"
		}
		e := apps.Event{Time: now.Add(time.Duration(i) * time.Millisecond), Action: "fhir.read", Outcome: "success", Member: member,
			ClientID: "app1", ResourceTypes: []string{"Patient"}, Count: 1, RequestID: fmt.Sprintf("%024x", i)}
		if err := s.AppendEvent(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if got, _ := s.ListMemberEvents(ctx, "alice", "", 10); len(got) != 1 {
			b.Fatalf("got %d events", len(got))
		}
	}
}
