package memory

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// TestRotatedTokenKeepsNoRequest: a signature is a piece of a larger
// string (the token fosite generated, the form body a refresh token came
// in), and a rotated refresh token's tombstone is kept a day: the store
// must keep the signature, not the string it came from.
func TestRotatedTokenKeepsNoRequest(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(func() time.Time { return now })
	const rotations, body = 2000, 4096
	// piece returns a signature inside a body-sized string of its own.
	piece := func(sig string) string { return (strings.Repeat("x", body) + sig)[body:] }
	rec := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: now.Add(90 * 24 * time.Hour)}
	if err := s.CreateToken(ctx, oauth.KindRefresh, piece("sig-0000"), rec); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range rotations {
		used, next := sigN(i), sigN(i+1)
		u := oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: piece(used)},
			Issue: []oauth.IssuedToken{{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: piece(next)}, Record: rec}}}
		if _, err := s.UseToken(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / rotations
	t.Logf("%d B of heap per rotated refresh token", per)
	// A tombstone with its index entries is a few hundred bytes; a kept
	// body would be over 4 KB.
	if per > body/4 {
		t.Errorf("a rotated refresh token keeps %d B of heap: the strings its signatures came in are kept", per)
	}
}

func sigN(i int) string {
	b := []byte("sig-0000")
	for j := 7; j >= 4; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
	return string(b)
}
