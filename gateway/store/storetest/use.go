package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

func issued(kind oauth.TokenKind, sig string, rec oauth.TokenRecord) oauth.IssuedToken {
	return oauth.IssuedToken{TokenRef: oauth.TokenRef{Kind: kind, Signature: sig}, Record: rec}
}

// testTokenUseCode: exchanging a code marks it used, drops its PKCE and
// OpenID records and stores the new tokens in one step; a second use
// changes nothing.
func testTokenUseCode(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	for kind, sig := range map[oauth.TokenKind]string{oauth.KindCode: "code", oauth.KindPKCE: "code", oauth.KindOIDC: "rawcode"} {
		wantErr(t, "create "+string(kind), b.CreateToken(ctx, kind, sig, newRecord("req1", c)), nil)
	}
	wantErr(t, "create other request's code", b.CreateToken(ctx, oauth.KindCode, "other", newRecord("req2", c)), nil)
	access, refresh := newRecord("req1", c), newRecord("req1", c)
	refresh.AccessSignature, refresh.ExpiresAt = "at1", c.Now().Add(24*time.Hour)
	u := oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindCode, Signature: "code"},
		Drop:  []oauth.TokenRef{{Kind: oauth.KindPKCE, Signature: "code"}, {Kind: oauth.KindOIDC, Signature: "rawcode"}},
		Issue: []oauth.IssuedToken{issued(oauth.KindAccess, "at1", access), issued(oauth.KindRefresh, "rt1", refresh)}}
	was, err := b.UseToken(ctx, u)
	wantErr(t, "use code", err, nil)
	wantEqual(t, "code as it was", was, newRecord("req1", c))
	tomb := newRecord("req1", c)
	tomb.Active, tomb.Request = false, nil
	wantEqual(t, "the used code, a tombstone", mustGet(t, b, oauth.KindCode, "code"), tomb)
	wantGone(t, b, oauth.KindPKCE, "code")
	wantGone(t, b, oauth.KindOIDC, "rawcode")
	wantEqual(t, "issued access", mustGet(t, b, oauth.KindAccess, "at1"), access)
	wantEqual(t, "issued refresh", mustGet(t, b, oauth.KindRefresh, "rt1"), refresh)
	if e, ok := b.(Expirer); ok {
		at, err := e.TokenExpiry(ctx, oauth.KindRefresh, "rt1")
		wantErr(t, "issued refresh expiry", err, nil)
		if want := refresh.ExpiresAt.Add(oauth.InactiveTail); !at.Equal(want) {
			t.Fatalf("issued refresh token expires on the server at %v, want %v", at, want)
		}
	}

	again := u
	again.Issue = []oauth.IssuedToken{issued(oauth.KindAccess, "at2", newRecord("req1", c))}
	_, err = b.UseToken(ctx, again)
	wantErr(t, "use the code again", err, oauth.ErrInactive)
	wantGone(t, b, oauth.KindAccess, "at2")
	missing := u
	missing.Signature = "nope"
	_, err = b.UseToken(ctx, missing)
	wantErr(t, "use a missing code", err, oauth.ErrNotFound)

	// What was issued is indexed under the request like any record.
	wantErr(t, "revoke request", b.RevokeRequest(ctx, "req1"), nil)
	wantGone(t, b, oauth.KindAccess, "at1")
	wantGone(t, b, oauth.KindRefresh, "rt1")
	mustGet(t, b, oauth.KindCode, "other")
}

// testTokenUseRefresh: rotating a refresh token retires it and its access
// token and stores the new pair in one step.
func testTokenUseRefresh(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	old := newRecord("req1", c)
	old.AccessSignature = "at1"
	wantErr(t, "create access", b.CreateToken(ctx, oauth.KindAccess, "at1", newRecord("req1", c)), nil)
	wantErr(t, "create refresh", b.CreateToken(ctx, oauth.KindRefresh, "rt1", old), nil)
	next := newRecord("req1", c)
	next.AccessSignature = "at2"
	_, err := b.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt1"}, DropAccess: true,
		Issue: []oauth.IssuedToken{issued(oauth.KindAccess, "at2", newRecord("req1", c)), issued(oauth.KindRefresh, "rt2", next)}})
	wantErr(t, "rotate", err, nil)
	wantGone(t, b, oauth.KindAccess, "at1")
	tomb := old
	tomb.Active, tomb.Request, tomb.AccessSignature = false, nil, ""
	wantEqual(t, "the rotated refresh token, a tombstone", mustGet(t, b, oauth.KindRefresh, "rt1"), tomb)
	mustGet(t, b, oauth.KindAccess, "at2")
	wantEqual(t, "new refresh", mustGet(t, b, oauth.KindRefresh, "rt2"), next)
}

// testTokenUseOtherRequest: a use that would drop or issue a record of
// another request is refused and changes nothing.
func testTokenUseOtherRequest(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	wantErr(t, "create refresh", b.CreateToken(ctx, oauth.KindRefresh, "rt1", newRecord("req1", c)), nil)
	wantErr(t, "create other", b.CreateToken(ctx, oauth.KindPKCE, "p2", newRecord("req2", c)), nil)
	ref := oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt1"}
	for name, u := range map[string]oauth.TokenUse{
		"issue": {TokenRef: ref, Issue: []oauth.IssuedToken{issued(oauth.KindAccess, "at2", newRecord("req2", c))}},
		"drop": {TokenRef: ref, Drop: []oauth.TokenRef{{Kind: oauth.KindPKCE, Signature: "p2"}},
			Issue: []oauth.IssuedToken{issued(oauth.KindAccess, "at2", newRecord("req1", c))}},
	} {
		if _, err := b.UseToken(ctx, u); err == nil {
			t.Fatalf("a use that would %s another request's record succeeded", name)
		}
		if !mustGet(t, b, oauth.KindRefresh, "rt1").Active {
			t.Fatalf("a refused use (%s) spent the refresh token", name)
		}
		wantGone(t, b, oauth.KindAccess, "at2")
		mustGet(t, b, oauth.KindPKCE, "p2")
	}
}

// testTokenUseRace: of 50 concurrent uses of one refresh token exactly one
// succeeds, and only what it issued is stored.
func testTokenUseRace(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	wantErr(t, "create", b.CreateToken(ctx, oauth.KindRefresh, "rt", newRecord("req1", c)), nil)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = b.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt"},
				DropAccess: true, Issue: []oauth.IssuedToken{issued(oauth.KindRefresh, fmt.Sprint("rt-", i), newRecord("req1", c))}})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won < 0:
			won = i
		case err == nil:
			t.Fatalf("uses %d and %d both succeeded", won, i)
		case !errors.Is(err, oauth.ErrInactive):
			t.Fatalf("use %d: %v, want ErrInactive", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no use succeeded")
	}
	for i := range n {
		if i == won {
			mustGet(t, b, oauth.KindRefresh, fmt.Sprint("rt-", i))
		} else {
			wantGone(t, b, oauth.KindRefresh, fmt.Sprint("rt-", i))
		}
	}
}
