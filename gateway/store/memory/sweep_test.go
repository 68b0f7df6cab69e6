package memory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// TestSweep checks that expired tokens and sessions, and limiter keys back
// to a full burst, leave memory even if nobody reads them again.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(func() time.Time { return now })
	for i := range 10 {
		rec := oauth.TokenRecord{RequestID: fmt.Sprint("req", i%3), Active: true, ExpiresAt: now.Add(time.Minute)}
		if err := s.CreateToken(ctx, oauth.KindAccess, fmt.Sprint("sig", i), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutSession(ctx, oauth.LoginSession{ID: "s1", ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	keep := oauth.TokenRecord{RequestID: "keep", Active: true, ExpiresAt: now.Add(48 * time.Hour)}
	if err := s.CreateToken(ctx, oauth.KindRefresh, "keep", keep); err != nil {
		t.Fatal(err)
	}
	for key, every := range map[string]time.Duration{"gone": time.Minute, "kept": 48 * time.Hour} {
		if _, err := s.Allow(ctx, key, oauth.Limit{Burst: 1, Every: every}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Minute + oauth.InactiveTail)
	for range sweepEvery {
		if err := s.PutMember(ctx, oauth.Member{Username: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.tokens) != 1 || len(s.byRequest) != 1 || len(s.sessions) != 0 || len(s.rates) != 1 {
		t.Fatalf("after sweep: %d tokens, %d request indexes, %d sessions, %d limiter keys; want 1, 1, 0, 1",
			len(s.tokens), len(s.byRequest), len(s.sessions), len(s.rates))
	}
}

// TestEventsBound checks that the audit log keeps the newest MaxEvents.
func TestEventsBound(t *testing.T) {
	ctx := context.Background()
	s := New(nil)
	total := MaxEvents + MaxEvents/4 + 10
	for i := range total {
		if err := s.AppendEvent(ctx, apps.Event{Count: i}); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.events) > MaxEvents+MaxEvents/4 {
		t.Fatalf("kept %d events, want at most %d", len(s.events), MaxEvents+MaxEvents/4)
	}
	all, err := s.ListEvents(ctx, total)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != MaxEvents || all[0].Count != total-1 || all[MaxEvents-1].Count != total-MaxEvents {
		t.Fatalf("listed %d events from %d to %d; want %d from %d to %d", len(all),
			all[0].Count, all[len(all)-1].Count, MaxEvents, total-1, total-MaxEvents)
	}
}
