package memory

import (
	"context"
	"fmt"
	"slices"
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

// TestEventsRetentionFreesMemory checks that events past the retention
// leave memory, not only the listing: their records (their chunks' memory
// given back, unmapped on Linux), and the strings only they held.
func TestEventsRetentionFreesMemory(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(func() time.Time { return now }, WithAuditRetention(time.Hour))
	for i := range 3000 { // three chunks
		e := apps.Event{Time: now, Count: i, Member: fmt.Sprint("m", i%10), RequestID: fmt.Sprint("Req-", i)}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	old := slices.Clone(s.events.chunks[:len(s.events.chunks)-1]) // full: dropped whole
	now = now.Add(time.Hour + time.Second)
	if err := s.AppendEvent(ctx, apps.Event{Time: now, Count: 3000, Member: "last"}); err != nil {
		t.Fatal(err)
	}
	for i, c := range old {
		if c.mem != nil {
			t.Errorf("chunk %d of the dropped events still holds its memory (%d bytes)", i, len(c.mem))
		}
	}
	if s.events.n != 1 || s.events.at(0).count != 3000 || len(s.events.chunks) != 1 {
		t.Fatalf("kept %d events in %d chunks after the retention, want the 1 newest in 1", s.events.n, len(s.events.chunks))
	}
	if n := s.events.strs.len(); n != 1 {
		t.Fatalf("kept %d interned strings after the retention, want 1 (the newest event's member)", n)
	}
}
