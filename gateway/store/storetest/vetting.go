package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// testHistory: history entries come back in the order appended, per app
// and over every app, unchanged, and a caller's copy cannot change them.
func testHistory(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	none, err := b.ListHistory(ctx, "app1")
	wantErr(t, "history of an app without any", err, nil)
	if none == nil || len(none) != 0 {
		t.Fatalf("empty history = %#v, want an empty non-nil slice", none)
	}
	admin := apps.Actor{Kind: apps.ActorAdmin, ID: "jane", Name: "Jane Admin"}
	entries := []apps.HistoryEntry{
		{ClientID: "app1", At: c.Now(), Actor: apps.TokenActor, Action: apps.ActionRegister, To: apps.StatusPending,
			CriteriaVersion: apps.CriteriaVersion, Criteria: []string{apps.CritContact}},
		{ClientID: "app2", At: c.Now().Add(time.Second), Actor: apps.PolicyActor, Action: apps.ActionApprove,
			From: apps.StatusPending, To: apps.StatusApproved, CriteriaVersion: apps.CriteriaVersion, ChecksPassed: true, Note: "all passed"},
		{ClientID: "app1", At: c.Now().Add(2 * time.Second), Actor: admin, Action: apps.ActionDeny, From: apps.StatusPending,
			To: apps.StatusDenied, CriteriaVersion: apps.CriteriaVersion, Criteria: []string{apps.CritImpersonation, apps.CritCompromise},
			Evidence: "logo and name of another plan"},
		{ClientID: "app1", At: c.Now().Add(3 * time.Second), Actor: admin, Action: apps.ActionApprove, From: apps.StatusDenied,
			To: apps.StatusApproved, CriteriaVersion: "2025-01.1", Criteria: []string{apps.CritContact}, Override: "phone on file"},
	}
	for _, e := range entries {
		wantErr(t, "append history", b.AppendHistory(ctx, e), nil)
	}
	entries[0].Criteria[0] = "changed after append" // the store keeps its own copy
	defer func() { entries[0].Criteria[0] = apps.CritContact }()
	want := func(i int) apps.HistoryEntry {
		e := entries[i]
		if i == 0 {
			e.Criteria = []string{apps.CritContact}
		}
		return e
	}
	got, err := b.ListHistory(ctx, "app1")
	wantErr(t, "list app1 history", err, nil)
	wantEqual(t, "app1 history", got, []apps.HistoryEntry{want(0), want(2), want(3)})
	got[0].Criteria[0] = "changed by a reader"
	all, err := b.ListHistory(ctx, "")
	wantErr(t, "list every history", err, nil)
	wantEqual(t, "every history", all, []apps.HistoryEntry{want(0), want(1), want(2), want(3)})
}

// testChecksAndWatch: the latest checks and policy watch of an app replace
// the ones before, come back unchanged, and are ErrNotFound before any.
func testChecksAndWatch(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	_, err := b.GetChecks(ctx, "app1")
	wantErr(t, "checks of an unchecked app", err, apps.ErrNotFound)
	_, err = b.GetPolicyWatch(ctx, "app1")
	wantErr(t, "watch of an unwatched app", err, apps.ErrNotFound)
	first := apps.Checks{ClientID: "app1", CriteriaVersion: apps.CriteriaVersion, RanAt: c.Now(), Results: []apps.CheckResult{
		{Criterion: apps.CritRedirectHTTPS, Outcome: apps.OutcomeFail, Problems: []string{"http", "private-use"}},
		{Criterion: apps.CritCompromise, Outcome: apps.OutcomeManual},
	}}
	wantErr(t, "put checks", b.PutChecks(ctx, first), nil)
	got, err := b.GetChecks(ctx, "app1")
	wantErr(t, "get checks", err, nil)
	wantEqual(t, "checks", got, first)
	got.Results[0].Problems[0] = "changed by a reader"
	second := apps.Checks{ClientID: "app1", CriteriaVersion: apps.CriteriaVersion, RanAt: c.Now().Add(time.Minute),
		Results: []apps.CheckResult{{Criterion: apps.CritRedirectHTTPS, Outcome: apps.OutcomePass}}}
	wantErr(t, "replace checks", b.PutChecks(ctx, second), nil)
	got, _ = b.GetChecks(ctx, "app1")
	wantEqual(t, "replaced checks", got, second)
	_, err = b.GetChecks(ctx, "app2")
	wantErr(t, "checks of another app", err, apps.ErrNotFound)

	w := apps.PolicyWatch{ClientID: "app1", CheckedAt: c.Now(), Pages: []apps.WatchedPage{
		{Kind: "privacy_policy", URL: "https://app.example/privacy", Hash: "ab12", FetchedAt: c.Now(), ChangedAt: c.Now().Add(-time.Hour)},
		{Kind: "terms", URL: "https://app.example/terms", LastError: "timeout"},
	}}
	wantErr(t, "put watch", b.PutPolicyWatch(ctx, w), nil)
	gw, err := b.GetPolicyWatch(ctx, "app1")
	wantErr(t, "get watch", err, nil)
	wantEqual(t, "watch", gw, w)
}

// testAppUsage: the members with a live grant are counted once each, for
// the app only; revoked and expired grants do not count; the last call
// only moves forward.
func testAppUsage(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	u, err := b.AppUsage(ctx, "app1", c.Now())
	wantErr(t, "usage of an unused app", err, nil)
	wantEqual(t, "usage of an unused app", u, apps.Usage{})
	now := c.Now()
	grants := []apps.Grant{
		{ID: "g1", Member: "alice", ClientID: "app1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{ID: "g2", Member: "alice", ClientID: "app1", CreatedAt: now.Add(time.Second)}, // alice again: one member
		{ID: "g3", Member: "bob", ClientID: "app1", CreatedAt: now, ExpiresAt: now.Add(time.Minute)},
		{ID: "g4", Member: "carol", ClientID: "app1", CreatedAt: now},
		{ID: "g5", Member: "dave", ClientID: "app2", CreatedAt: now},
		{ID: "g6", Member: "erin", ClientID: "app1", CreatedAt: now, ExpiresAt: now.Add(-time.Second)},
	}
	for _, g := range grants {
		wantErr(t, "create grant "+g.ID, b.CreateGrant(ctx, g), nil)
	}
	wantErr(t, "revoke carol's grant", b.RevokeGrant(ctx, "g4", now), nil)
	u, err = b.AppUsage(ctx, "app1", now)
	wantErr(t, "usage", err, nil)
	if u.LiveMembers != 2 {
		t.Fatalf("live members = %d, want 2 (alice once, bob; carol revoked, erin expired, dave another app's)", u.LiveMembers)
	}
	u, _ = b.AppUsage(ctx, "app1", now.Add(2*time.Minute))
	if u.LiveMembers != 1 {
		t.Fatalf("live members after bob's grant ended = %d, want 1", u.LiveMembers)
	}
	call := now.Add(30 * time.Second)
	wantErr(t, "note call", b.NoteAppCall(ctx, "app1", call), nil)
	wantErr(t, "note an earlier call", b.NoteAppCall(ctx, "app1", call.Add(-time.Second)), nil)
	u, _ = b.AppUsage(ctx, "app1", now)
	if !u.LastCall.Equal(call) {
		t.Fatalf("last call = %v, want %v (an earlier note must not move it back)", u.LastCall, call)
	}
	u, _ = b.AppUsage(ctx, "app2", now)
	if u.LiveMembers != 1 || !u.LastCall.IsZero() {
		t.Fatalf("app2 usage = %+v, want 1 member and no call", u)
	}
}
