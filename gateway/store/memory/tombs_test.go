package memory

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// heapPerTombstone is what a rotated refresh token may keep on the heap
// for the day it is kept: its key (the signature, 48 bytes) and tomb (24)
// in a map without pointers, at the map's load; its request's entry is
// shared with the grant's other tombstones.
const heapPerTombstone = 192

// fositeSig returns a signature shaped as fosite's HMAC strategy's: 43
// characters of unpadded base64url.
func fositeSig() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestTombstoneHeap rotates the refresh tokens of many grants and
// measures, after a collection, the heap each rotated token keeps; every
// one of them still reads back as its tombstone, and its reuse is seen.
func TestTombstoneHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("rotates 20,000 refresh tokens")
	}
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	s := New(func() time.Time { return now })
	const grants, rotations = 100, 200
	recs, sigs := make([]oauth.TokenRecord, grants), make([]string, grants)
	for g := range grants {
		recs[g] = oauth.TokenRecord{RequestID: fmt.Sprintf("%032x", g), ClientID: fmt.Sprint("app-", g%7), Active: true,
			ExpiresAt: now.Add(90 * 24 * time.Hour), Request: make([]byte, 300)}
		sigs[g] = fositeSig()
		if err := s.CreateToken(ctx, oauth.KindRefresh, sigs[g], recs[g]); err != nil {
			t.Fatal(err)
		}
	}
	used := make([]string, 0, grants*rotations)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range rotations {
		for g := range grants {
			next := fositeSig()
			u := oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: sigs[g]},
				Issue: []oauth.IssuedToken{{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: next}, Record: recs[g]}}}
			if _, err := s.UseToken(ctx, u); err != nil {
				t.Fatal(err)
			}
			used, sigs[g] = append(used, sigs[g]), next
		}
		now = now.Add(time.Second)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	// The used signatures are the test's, not the store's: 16 bytes of
	// header and 48 of string each.
	per := (int64(after.HeapAlloc)-int64(before.HeapAlloc))/int64(len(used)) - 64
	t.Logf("%d B of heap per rotated refresh token (budget %d)", per, heapPerTombstone)
	if per > heapPerTombstone {
		t.Errorf("a rotated refresh token keeps %d B of heap, over its budget of %d B", per, heapPerTombstone)
	}
	for i, sig := range used {
		want := recs[i%grants]
		want.Active, want.Request = false, nil
		got, err := s.GetToken(ctx, oauth.KindRefresh, sig)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("rotated token %d = %+v, %v; want its tombstone %+v", i, got, err, want)
		}
	}
	_, err := s.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: used[0]}})
	if !errors.Is(err, oauth.ErrInactive) {
		t.Fatalf("reuse of a rotated token: %v, want ErrInactive", err)
	}
}

// TestTombstoneForms: a tombstone reads back, is replaced, revoked and
// swept the same whatever form it is kept in: a fosite signature, one
// longer than a compact key holds, a kind of another name, a request
// with two clients.
func TestTombstoneForms(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		kind oauth.TokenKind
		sig  string
	}{
		{"fosite signature", oauth.KindRefresh, fositeSig()},
		{"empty signature", oauth.KindCode, ""},
		{"46 bytes", oauth.KindCode, strings.Repeat("s", tombSig)},
		{"47 bytes", oauth.KindCode, strings.Repeat("s", tombSig+1)},
		{"trailing NUL", oauth.KindRefresh, "sig\x00"},
		{"other kind", oauth.TokenKind("device"), "sig"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
			s := New(func() time.Time { return now })
			rec := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: now.Add(time.Hour), Request: []byte("r")}
			other := rec
			other.ClientID = "app2" // the same request with another client: kept apart
			mustUse := func(sig string, rec oauth.TokenRecord) {
				t.Helper()
				if err := s.CreateToken(ctx, tt.kind, sig, rec); err != nil {
					t.Fatal(err)
				}
				if _, err := s.DeactivateToken(ctx, tt.kind, sig); err != nil {
					t.Fatal(err)
				}
			}
			mustUse(tt.sig, rec)
			mustUse(tt.sig+"b", other)
			mustUse("sig\x00", rec) // sig's prefix with a NUL, or sig itself
			for sig, want := range map[string]oauth.TokenRecord{tt.sig: rec, tt.sig + "b": other} {
				want.Active, want.Request = false, nil
				if got, err := s.GetToken(ctx, tt.kind, sig); err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("tombstone %q = %+v, %v; want %+v", sig, got, err, want)
				}
			}
			if _, err := s.GetToken(ctx, oauth.KindAccess, tt.sig); !errors.Is(err, oauth.ErrNotFound) {
				t.Fatalf("another kind's record: %v, want ErrNotFound", err)
			}
			if err := s.RevokeRequest(ctx, "req1", oauth.KindAccess); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetToken(ctx, tt.kind, tt.sig); err != nil {
				t.Fatalf("after revoking another kind: %v", err)
			}
			if err := s.RevokeRequest(ctx, "req1", tt.kind); err != nil {
				t.Fatal(err)
			}
			for _, sig := range []string{tt.sig, tt.sig + "b"} {
				if _, err := s.GetToken(ctx, tt.kind, sig); !errors.Is(err, oauth.ErrNotFound) {
					t.Fatalf("tombstone %q after its request's revocation: %v, want ErrNotFound", sig, err)
				}
			}
			// The request's tombstones made after the revocation are kept.
			mustUse(tt.sig, rec)
			if _, err := s.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: tt.kind, Signature: tt.sig}}); !errors.Is(err, oauth.ErrInactive) {
				t.Fatalf("reuse after a new tombstone: %v, want ErrInactive", err)
			}
			now = now.Add(time.Hour + oauth.InactiveTail)
			s.tombs.sweep(now)
			if n, e := s.tombs.len(), len(s.tombs.byID); n != 0 || e != 0 {
				t.Fatalf("after the tail: %d tombstones, %d requests kept; want none", n, e)
			}
		})
	}
}

// TestRevokeKindsKeepsOthers: revoking some kinds of a request drops its
// tombstones of those kinds only, whatever other kinds it has, named in
// oauth.AllKinds or not.
func TestRevokeKindsKeepsOthers(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name         string
		stored, gone []oauth.TokenKind
		revoke       []oauth.TokenKind
	}{
		{"code of code and refresh", []oauth.TokenKind{oauth.KindCode, oauth.KindRefresh}, []oauth.TokenKind{oauth.KindCode}, []oauth.TokenKind{oauth.KindCode}},
		{"both of code and refresh", []oauth.TokenKind{oauth.KindCode, oauth.KindRefresh}, []oauth.TokenKind{oauth.KindCode, oauth.KindRefresh}, []oauth.TokenKind{oauth.KindRefresh, oauth.KindCode}},
		{"all kinds", []oauth.TokenKind{oauth.KindCode, "device"}, []oauth.TokenKind{oauth.KindCode, "device"}, nil},
		{"one other kind of two", []oauth.TokenKind{"device", "ciba"}, []oauth.TokenKind{"device"}, []oauth.TokenKind{"device"}},
		{"a known kind beside another", []oauth.TokenKind{oauth.KindRefresh, "device"}, []oauth.TokenKind{oauth.KindRefresh}, []oauth.TokenKind{oauth.KindRefresh}},
		{"another kind beside a known one", []oauth.TokenKind{oauth.KindRefresh, "device"}, []oauth.TokenKind{"device"}, []oauth.TokenKind{"device"}},
		{"a kind it has not", []oauth.TokenKind{oauth.KindRefresh}, nil, []oauth.TokenKind{oauth.KindAccess}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
			s := New(func() time.Time { return now })
			rec := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: now.Add(time.Hour)}
			for _, kind := range tt.stored {
				if err := s.CreateToken(ctx, kind, "sig", rec); err != nil {
					t.Fatal(err)
				}
				if _, err := s.DeactivateToken(ctx, kind, "sig"); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.RevokeRequest(ctx, "req1", tt.revoke...); err != nil {
				t.Fatal(err)
			}
			for _, kind := range tt.stored {
				_, err := s.GetToken(ctx, kind, "sig")
				if gone := slices.Contains(tt.gone, kind); gone != errors.Is(err, oauth.ErrNotFound) {
					t.Errorf("%s tombstone after revoking %v: %v; want it gone: %t", kind, tt.revoke, err, gone)
				}
			}
		})
	}
}
