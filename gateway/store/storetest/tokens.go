package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

func newRecord(requestID string, c *Clock) oauth.TokenRecord {
	return oauth.TokenRecord{
		RequestID: requestID, ClientID: "app1", Active: true,
		ExpiresAt: c.Now().Add(time.Hour),
		Request:   []byte(`{"id":"` + requestID + `","scopes":["patient/*.rs"]}`),
	}
}

// mustGet returns the record or fails the test.
func mustGet(t *testing.T, b Backend, kind oauth.TokenKind, sig string) oauth.TokenRecord {
	t.Helper()
	rec, err := b.GetToken(context.Background(), kind, sig)
	if err != nil {
		t.Fatalf("get %s %s: %v", kind, sig, err)
	}
	return rec
}

// wantGone fails unless the record is not found.
func wantGone(t *testing.T, b Backend, kind oauth.TokenKind, sig string) {
	t.Helper()
	_, err := b.GetToken(context.Background(), kind, sig)
	wantErr(t, "get "+string(kind)+" "+sig, err, oauth.ErrNotFound)
}

func testTokens(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	wantGone(t, b, oauth.KindAccess, "sig1")
	access := newRecord("req1", c)
	refresh := newRecord("req1", c)
	refresh.AccessSignature = "sig1"
	refresh.ExpiresAt = c.Now().Add(24 * time.Hour)
	wantErr(t, "create access", b.CreateToken(ctx, oauth.KindAccess, "sig1", access), nil)
	wantErr(t, "create refresh", b.CreateToken(ctx, oauth.KindRefresh, "sig2", refresh), nil)

	wantEqual(t, "access record", mustGet(t, b, oauth.KindAccess, "sig1"), access)
	wantEqual(t, "refresh record", mustGet(t, b, oauth.KindRefresh, "sig2"), refresh)
	wantGone(t, b, oauth.KindRefresh, "sig1") // kinds are separate namespaces
	wantGone(t, b, oauth.KindCode, "sig1")

	wantErr(t, "delete access", b.DeleteToken(ctx, oauth.KindAccess, "sig1"), nil)
	wantGone(t, b, oauth.KindAccess, "sig1")
	wantErr(t, "delete missing", b.DeleteToken(ctx, oauth.KindAccess, "sig1"), nil)
	wantErr(t, "delete never-created", b.DeleteToken(ctx, oauth.KindOIDC, "nope"), nil)
	mustGet(t, b, oauth.KindRefresh, "sig2")

	// A deleted record is also gone from its request's index: revoking the
	// request later must not fail, and must still remove the rest.
	wantErr(t, "revoke request", b.RevokeRequest(ctx, "req1"), nil)
	wantGone(t, b, oauth.KindRefresh, "sig2")
}

func testTokenCopies(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	rec := newRecord("req1", c)
	wantErr(t, "create", b.CreateToken(ctx, oauth.KindCode, "sig1", rec), nil)
	rec.Request[0] = 'X'
	got := mustGet(t, b, oauth.KindCode, "sig1")
	wantEqual(t, "record after caller changed its input", got, newRecord("req1", c))
	got.Request[1] = 'X'
	wantEqual(t, "record after caller changed what it read", mustGet(t, b, oauth.KindCode, "sig1"), newRecord("req1", c))
}

func testTokenDeactivate(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	_, err := b.DeactivateToken(ctx, oauth.KindCode, "sig1")
	wantErr(t, "deactivate missing", err, oauth.ErrNotFound)

	rec := newRecord("req1", c)
	wantErr(t, "create code", b.CreateToken(ctx, oauth.KindCode, "sig1", rec), nil)
	was, err := b.DeactivateToken(ctx, oauth.KindCode, "sig1")
	wantErr(t, "deactivate", err, nil)
	wantEqual(t, "record as it was", was, rec)

	// What is kept is a tombstone: enough to detect reuse and revoke the
	// request, not the request itself.
	inactive := rec
	inactive.Active, inactive.Request = false, nil
	wantEqual(t, "inactive record is still returned, as a tombstone", mustGet(t, b, oauth.KindCode, "sig1"), inactive)
	_, err = b.DeactivateToken(ctx, oauth.KindCode, "sig1")
	wantErr(t, "deactivate again", err, oauth.ErrInactive)

	// A record stored inactive is inactive from the start.
	wantErr(t, "create inactive", b.CreateToken(ctx, oauth.KindRefresh, "sig2", inactive), nil)
	wantEqual(t, "record stored inactive", mustGet(t, b, oauth.KindRefresh, "sig2"), inactive)
	_, err = b.DeactivateToken(ctx, oauth.KindRefresh, "sig2")
	wantErr(t, "deactivate record stored inactive", err, oauth.ErrInactive)
	_, err = b.DeactivateToken(ctx, oauth.KindAccess, "sig1")
	wantErr(t, "deactivate other kind", err, oauth.ErrNotFound)
}

func testTokenExpiry(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	active, used := newRecord("req1", c), newRecord("req1", c)
	used.Active = false
	wantErr(t, "create", b.CreateToken(ctx, oauth.KindAccess, "sig1", active), nil)
	wantErr(t, "create", b.CreateToken(ctx, oauth.KindCode, "sig2", used), nil)
	deadline := active.ExpiresAt.Add(oauth.InactiveTail)
	if e, ok := b.(Expirer); ok {
		for _, sig := range []string{"sig1", "sig2"} {
			kind := map[string]oauth.TokenKind{"sig1": oauth.KindAccess, "sig2": oauth.KindCode}[sig]
			at, err := e.TokenExpiry(ctx, kind, sig)
			wantErr(t, "token expiry", err, nil)
			if !at.Equal(deadline) {
				t.Fatalf("%s expires on the server at %v, want ExpiresAt+InactiveTail = %v", kind, at, deadline)
			}
		}
		_, err := e.TokenExpiry(ctx, oauth.KindAccess, "nope")
		wantErr(t, "missing token expiry", err, oauth.ErrNotFound)
	}

	c.Advance(time.Hour + oauth.InactiveTail - time.Millisecond)
	mustGet(t, b, oauth.KindAccess, "sig1") // past ExpiresAt, still within the tail
	mustGet(t, b, oauth.KindCode, "sig2")
	_, err := b.DeactivateToken(ctx, oauth.KindCode, "sig2")
	wantErr(t, "deactivate used code within tail", err, oauth.ErrInactive)

	c.Advance(time.Millisecond)
	wantGone(t, b, oauth.KindAccess, "sig1")
	wantGone(t, b, oauth.KindCode, "sig2")
	_, err = b.DeactivateToken(ctx, oauth.KindAccess, "sig1")
	wantErr(t, "deactivate expired", err, oauth.ErrNotFound)
}

// createAll stores one record of every kind for requestID, signatures
// "<requestID>-<kind>".
func createAll(t *testing.T, b Backend, c *Clock, requestID string) {
	t.Helper()
	for _, kind := range oauth.AllKinds {
		err := b.CreateToken(context.Background(), kind, requestID+"-"+string(kind), newRecord(requestID, c))
		wantErr(t, "create "+string(kind), err, nil)
	}
}

func testRevokeRequest(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	wantErr(t, "revoke unknown request", b.RevokeRequest(ctx, "nope"), nil)
	createAll(t, b, c, "req1")
	createAll(t, b, c, "req2")
	_, err := b.DeactivateToken(ctx, oauth.KindCode, "req1-code")
	wantErr(t, "deactivate code", err, nil)

	wantErr(t, "revoke request", b.RevokeRequest(ctx, "req1"), nil)
	for _, kind := range oauth.AllKinds {
		wantGone(t, b, kind, "req1-"+string(kind))
		mustGet(t, b, kind, "req2-"+string(kind))
	}
	wantErr(t, "revoke again", b.RevokeRequest(ctx, "req1"), nil)

	// The request can issue again after a revocation, and revoke again.
	wantErr(t, "create after revoke", b.CreateToken(ctx, oauth.KindAccess, "late", newRecord("req1", c)), nil)
	mustGet(t, b, oauth.KindAccess, "late")
	wantErr(t, "revoke request again", b.RevokeRequest(ctx, "req1", oauth.AllKinds...), nil)
	wantGone(t, b, oauth.KindAccess, "late")
	mustGet(t, b, oauth.KindAccess, "req2-access")
}

func testRevokeRequestKinds(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	createAll(t, b, c, "req1")
	createAll(t, b, c, "req2")
	wantErr(t, "revoke access and refresh", b.RevokeRequest(ctx, "req1", oauth.KindAccess, oauth.KindRefresh), nil)
	for _, kind := range oauth.AllKinds {
		if kind == oauth.KindAccess || kind == oauth.KindRefresh {
			wantGone(t, b, kind, "req1-"+string(kind))
		} else {
			mustGet(t, b, kind, "req1-"+string(kind))
		}
		mustGet(t, b, kind, "req2-"+string(kind))
	}
	wantErr(t, "revoke code", b.RevokeRequest(ctx, "req1", oauth.KindCode), nil)
	wantGone(t, b, oauth.KindCode, "req1-code")
	mustGet(t, b, oauth.KindPKCE, "req1-pkce")
}

func testDeactivateRace(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	wantErr(t, "create", b.CreateToken(ctx, oauth.KindRefresh, "sig1", newRecord("req1", c)), nil)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = b.DeactivateToken(ctx, oauth.KindRefresh, "sig1")
		})
	}
	wg.Wait()
	var won, lost int
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, oauth.ErrInactive):
			lost++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 || lost != n-1 {
		t.Fatalf("%d deactivations succeeded and %d saw ErrInactive, want 1 and %d", won, lost, n-1)
	}
}
