package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// accessRecord is an access token record with claims, as the
// authorization server stores it.
func accessRecord(requestID string, c *Clock) oauth.TokenRecord {
	rec := newRecord(requestID, c)
	rec.Claims = []byte{0x01, 0x00, 0xff, 0x7f, 'c'}
	return rec
}

// checked is the part of a CheckAccess record every backend returns.
func checked(rec oauth.TokenRecord) oauth.TokenRecord {
	return oauth.TokenRecord{RequestID: rec.RequestID, ClientID: rec.ClientID, Active: rec.Active,
		ExpiresAt: rec.ExpiresAt, Claims: rec.Claims}
}

// testCheckAccess: CheckAccess returns a token's claims, app and grant in
// one read, with or without the caller's hint of its request and client,
// sees deletion, revocation and expiry at once, and still reads a record
// stored without claims.
func testCheckAccess(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	_, err := b.CheckAccess(ctx, oauth.AccessQuery{Signature: "sig1"})
	wantErr(t, "check missing", err, oauth.ErrNotFound)

	app := newApp("app1", c.Now())
	grant := newGrant("req1", "alice", c.Now())
	grant.ClientID = "app1"
	wantErr(t, "create app", b.CreateApp(ctx, app), nil)
	wantErr(t, "create grant", b.CreateGrant(ctx, grant), nil)
	rec := accessRecord("req1", c)
	wantErr(t, "create access", b.CreateToken(ctx, oauth.KindAccess, "sig1", rec), nil)

	hint := oauth.AccessQuery{Signature: "sig1", RequestID: "req1", ClientID: "app1"}
	for _, q := range []oauth.AccessQuery{{Signature: "sig1"}, hint} {
		got, err := b.CheckAccess(ctx, q)
		wantErr(t, "check", err, nil)
		wantEqual(t, "checked record", checked(got.Record), checked(rec))
		wantEqual(t, "checked app", got.App, app)
		wantEqual(t, "checked grant", got.Grant, grant)
		got.Record.Claims[0] = 'X'
	}
	// A caller that holds the claims may get the record without them.
	known := hint
	known.KnownClaims = true
	got, err := b.CheckAccess(ctx, known)
	wantErr(t, "check with the claims known", err, nil)
	if len(got.Record.Claims) > 0 {
		wantEqual(t, "claims the caller knows", got.Record.Claims, rec.Claims)
	}
	got.Record.Claims = rec.Claims
	wantEqual(t, "checked record, claims known", checked(got.Record), checked(rec))
	wantEqual(t, "checked app, claims known", got.App, app)
	wantEqual(t, "checked grant, claims known", got.Grant, grant)

	got, _ = b.CheckAccess(ctx, hint)
	wantEqual(t, "claims after the caller changed what it read", got.Record.Claims, rec.Claims)
	got.App.RedirectURIs[0], got.Grant.Scopes[0] = "https://evil.example", "patient/*.*"
	got, _ = b.CheckAccess(ctx, hint)
	wantEqual(t, "app after the caller changed what it read", got.App, app)
	wantEqual(t, "grant after the caller changed what it read", got.Grant, grant)

	// A change to the app or the grant is seen by the next check.
	suspended, err := b.UpdateApp(ctx, "app1", func(a apps.App) (apps.App, error) { a.Status = apps.StatusSuspended; return a, nil })
	wantErr(t, "suspend", err, nil)
	wantErr(t, "revoke grant", b.RevokeGrant(ctx, "req1", c.Now()), nil)
	got, err = b.CheckAccess(ctx, hint)
	wantErr(t, "check after changes", err, nil)
	wantEqual(t, "app after a suspension", got.App, suspended)
	if got.Grant.Active() {
		t.Fatal("the check does not see the grant's revocation")
	}
	wantEqual(t, "GetToken keeps the claims", mustGet(t, b, oauth.KindAccess, "sig1").Claims, rec.Claims)

	// A record without claims comes back whole, request projection included.
	old := newRecord("req1", c)
	wantErr(t, "create old access", b.CreateToken(ctx, oauth.KindAccess, "sig2", old), nil)
	got, err = b.CheckAccess(ctx, oauth.AccessQuery{Signature: "sig2"})
	wantErr(t, "check old", err, nil)
	wantEqual(t, "old record", got.Record, old)
	wantEqual(t, "old record's app", got.App, suspended)

	// A missing app or grant is the zero value.
	orphan := accessRecord("req9", c)
	orphan.ClientID = "app9"
	wantErr(t, "create orphan", b.CreateToken(ctx, oauth.KindAccess, "sig9", orphan), nil)
	got, err = b.CheckAccess(ctx, oauth.AccessQuery{Signature: "sig9"})
	wantErr(t, "check orphan", err, nil)
	wantEqual(t, "orphan app", got.App, apps.App{})
	wantEqual(t, "orphan grant", got.Grant, apps.Grant{})

	wantErr(t, "delete", b.DeleteToken(ctx, oauth.KindAccess, "sig1"), nil)
	_, err = b.CheckAccess(ctx, hint)
	wantErr(t, "check deleted with hint", err, oauth.ErrNotFound)
	_, err = b.CheckAccess(ctx, oauth.AccessQuery{Signature: "sig1"})
	wantErr(t, "check deleted", err, oauth.ErrNotFound)

	wantErr(t, "create again", b.CreateToken(ctx, oauth.KindAccess, "sig1", rec), nil)
	wantErr(t, "revoke", b.RevokeRequest(ctx, "req1"), nil)
	_, err = b.CheckAccess(ctx, hint)
	wantErr(t, "check revoked with hint", err, oauth.ErrNotFound)

	wantErr(t, "create once more", b.CreateToken(ctx, oauth.KindAccess, "sig1", rec), nil)
	c.Advance(time.Hour + oauth.InactiveTail)
	_, err = b.CheckAccess(ctx, hint)
	wantErr(t, "check past expiry and tail", err, oauth.ErrNotFound)
}

// testCheckAccessIssued: an access token issued by UseToken (a refresh)
// keeps its claims for CheckAccess.
func testCheckAccessIssued(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	refresh := newRecord("req1", c)
	wantErr(t, "create refresh", b.CreateToken(ctx, oauth.KindRefresh, "rt1", refresh), nil)
	access := accessRecord("req1", c)
	_, err := b.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt1"},
		Issue: []oauth.IssuedToken{{TokenRef: oauth.TokenRef{Kind: oauth.KindAccess, Signature: "at2"}, Record: access}}})
	wantErr(t, "use refresh", err, nil)
	got, err := b.CheckAccess(ctx, oauth.AccessQuery{Signature: "at2"})
	wantErr(t, "check issued", err, nil)
	wantEqual(t, "issued record", checked(got.Record), checked(access))
}

// testAppsVersion: the registry's version moves with every app created or
// changed, and with nothing else, so what is derived from the registry
// (the CORS origins) can be kept until it moves.
func testAppsVersion(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	version := func() int64 {
		t.Helper()
		v, err := b.AppsVersion(ctx)
		wantErr(t, "apps version", err, nil)
		return v
	}
	v0 := version()
	wantErr(t, "create app", b.CreateApp(ctx, newApp("app1", c.Now())), nil)
	v1 := version()
	if v1 == v0 {
		t.Fatal("creating an app did not move the version")
	}
	wantErr(t, "create duplicate", b.CreateApp(ctx, newApp("app1", c.Now())), apps.ErrAlreadyExists)
	_, _ = b.GetApp(ctx, "app1")
	_, _ = b.ListApps(ctx)
	if version() != v1 {
		t.Fatal("reads or a refused create moved the version")
	}
	_, err := b.UpdateApp(ctx, "app1", func(a apps.App) (apps.App, error) { a.Status = apps.StatusApproved; return a, nil })
	wantErr(t, "update app", err, nil)
	if v2 := version(); v2 == v1 {
		t.Fatal("changing an app did not move the version")
	}
}

// testTokenUseRetires: a refresh token used up by UseToken is still found
// (so its reuse is detected) for oauth.InactiveTail, then it is gone, long
// before its own 90-day expiry.
func testTokenUseRetires(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	refresh := newRecord("req1", c)
	refresh.ExpiresAt = c.Now().Add(90 * 24 * time.Hour)
	wantErr(t, "create refresh", b.CreateToken(ctx, oauth.KindRefresh, "rt1", refresh), nil)
	next := newRecord("req1", c)
	next.ExpiresAt = refresh.ExpiresAt
	_, err := b.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt1"},
		Issue: []oauth.IssuedToken{{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt2"}, Record: next}}})
	wantErr(t, "rotate", err, nil)
	retire := c.Now().Add(oauth.InactiveTail)
	if e, ok := b.(Expirer); ok {
		at, err := e.TokenExpiry(ctx, oauth.KindRefresh, "rt1")
		wantErr(t, "rotated token expiry", err, nil)
		if at.After(retire.Add(time.Millisecond)) {
			t.Fatalf("the rotated refresh token is kept until %v, want no later than %v", at, retire)
		}
		at, err = e.TokenExpiry(ctx, oauth.KindRefresh, "rt2")
		wantErr(t, "new token expiry", err, nil)
		if !at.Equal(next.ExpiresAt.Add(oauth.InactiveTail)) {
			t.Fatalf("the new refresh token expires at %v, want its own expiry plus the tail", at)
		}
	}
	c.Advance(oauth.InactiveTail - time.Millisecond)
	if rec := mustGet(t, b, oauth.KindRefresh, "rt1"); rec.Active {
		t.Fatal("the rotated refresh token is active")
	}
	if _, ok := b.(Expirer); !ok { // the server's clock drops it on Redis
		c.Advance(time.Millisecond)
		wantGone(t, b, oauth.KindRefresh, "rt1")
	}
	mustGet(t, b, oauth.KindRefresh, "rt2")
}

// testCheckAccessAppend: CheckAccessAppend reads what CheckAccess reads
// and appends the events, to the plan's trail and the member's history,
// whatever the check finds (a suspended app, a revoked grant, a missing
// token); WithdrawEvents then removes exactly those events, from both,
// and withdrawing them again is not an error.
func testCheckAccessAppend(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	wantErr(t, "create app", b.CreateApp(ctx, newApp("app1", c.Now())), nil)
	grant := newGrant("req1", "alice", c.Now())
	wantErr(t, "create grant", b.CreateGrant(ctx, grant), nil)
	rec := accessRecord("req1", c)
	wantErr(t, "create access", b.CreateToken(ctx, oauth.KindAccess, "sig1", rec), nil)
	before := apps.Event{Time: c.Now(), Action: "token", Outcome: "success", ClientID: "app1", Member: "alice"}
	wantErr(t, "append before", b.AppendEvent(ctx, before), nil)

	hint := oauth.AccessQuery{Signature: "sig1", RequestID: "req1", ClientID: "app1"}
	read := apps.Event{Time: c.Now(), Action: "fhir.read", Outcome: "success", ClientID: "app1", Member: "alice",
		Patient: "pat-alice", ResourceTypes: []string{"Patient"}, Count: 1, ClientIP: "192.0.2.1"}
	want, err := b.CheckAccess(ctx, hint)
	wantErr(t, "check", err, nil)
	got, refs, err := b.CheckAccessAppend(ctx, hint, []apps.Event{read})
	wantErr(t, "check and append", err, nil)
	wantEqual(t, "checked record", checked(got.Record), checked(want.Record))
	wantEqual(t, "checked app", got.App, want.App)
	wantEqual(t, "checked grant", got.Grant, want.Grant)
	plain := read
	plain.ClientIP = ""
	wantEvents(t, b, "after the append", []apps.Event{plain, before}, []apps.Event{read, before})

	wantErr(t, "withdraw", b.WithdrawEvents(ctx, refs), nil)
	wantEvents(t, b, "after the withdrawal", []apps.Event{before}, []apps.Event{before})
	wantErr(t, "withdraw again", b.WithdrawEvents(ctx, refs), nil)

	// Appended whatever the check finds; the caller judges and withdraws.
	_, err = b.UpdateApp(ctx, "app1", func(a apps.App) (apps.App, error) { a.Status = apps.StatusSuspended; return a, nil })
	wantErr(t, "suspend", err, nil)
	got, refs, err = b.CheckAccessAppend(ctx, hint, []apps.Event{read})
	wantErr(t, "check and append, app suspended", err, nil)
	wantEqual(t, "app status", got.App.Status, apps.StatusSuspended)
	wantErr(t, "withdraw", b.WithdrawEvents(ctx, refs), nil)

	wantErr(t, "revoke", b.RevokeRequest(ctx, "req1"), nil)
	for _, q := range []oauth.AccessQuery{hint, {Signature: "sig1"}} {
		_, refs, err = b.CheckAccessAppend(ctx, q, []apps.Event{read})
		wantErr(t, "check and append, token revoked", err, oauth.ErrNotFound)
		wantErr(t, "withdraw", b.WithdrawEvents(ctx, refs), nil)
	}
	wantEvents(t, b, "after refused checks", []apps.Event{before}, []apps.Event{before})

	// An event without a member goes to the plan's trail only.
	wantErr(t, "create access again", b.CreateToken(ctx, oauth.KindAccess, "sig2", rec), nil)
	anonymous := apps.Event{Time: c.Now(), Action: "fhir.read", Outcome: "denied", ClientID: "app1"}
	_, refs, err = b.CheckAccessAppend(ctx, oauth.AccessQuery{Signature: "sig2"}, []apps.Event{anonymous})
	wantErr(t, "check and append without a member", err, nil)
	wantEvents(t, b, "an event without a member", []apps.Event{anonymous, before}, []apps.Event{before})
	wantErr(t, "withdraw", b.WithdrawEvents(ctx, refs), nil)
	wantEvents(t, b, "withdrawn without a member", []apps.Event{before}, []apps.Event{before})
}

// wantEvents checks the plan's trail and alice's history, newest first.
func wantEvents(t *testing.T, b Backend, what string, plan, alice []apps.Event) {
	t.Helper()
	ctx := context.Background()
	got, err := b.ListEvents(ctx, 10)
	wantErr(t, "list events", err, nil)
	wantEqual(t, what+": the plan's trail", got, plan)
	got, err = b.ListMemberEvents(ctx, "alice", "", 10)
	wantErr(t, "list member events", err, nil)
	wantEqual(t, what+": alice's history", got, alice)
}
