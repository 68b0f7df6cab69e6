package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// AssertionExpirer is implemented by backends whose used assertion ids are
// dropped by a server clock the suite cannot move (Redis).
type AssertionExpirer interface {
	// AssertionExpiry returns when the server will drop a used assertion
	// id; oauth.ErrNotFound if there is none.
	AssertionExpiry(ctx context.Context, id string) (time.Time, error)
}

// testAssertions: a client assertion id is accepted once until it expires;
// ids are independent of each other.
func testAssertions(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	exp := c.Now().Add(5 * time.Minute)
	used, err := b.AssertionUsed(ctx, "jti1")
	wantErr(t, "assertion used, before", err, nil)
	wantEqual(t, "used before use", used, false)
	wantErr(t, "use", b.UseAssertion(ctx, "jti1", exp), nil)
	wantErr(t, "use again", b.UseAssertion(ctx, "jti1", exp.Add(time.Hour)), oauth.ErrUsed)
	wantErr(t, "use another id", b.UseAssertion(ctx, "jti2", exp), nil)
	used, err = b.AssertionUsed(ctx, "jti1")
	wantErr(t, "assertion used, after", err, nil)
	wantEqual(t, "used after use", used, true)

	if e, ok := b.(AssertionExpirer); ok {
		at, err := e.AssertionExpiry(ctx, "jti1")
		wantErr(t, "assertion expiry", err, nil)
		if !at.Equal(exp) {
			t.Fatalf("a used assertion id expires on the server at %v, want its expiry %v (not extended by the refused reuse)", at, exp)
		}
		_, err = e.AssertionExpiry(ctx, "nope")
		wantErr(t, "missing assertion expiry", err, oauth.ErrNotFound)
	}
	c.Advance(5*time.Minute - time.Millisecond)
	wantErr(t, "use just before expiry", b.UseAssertion(ctx, "jti1", exp), oauth.ErrUsed)
	c.Advance(time.Millisecond)
	used, err = b.AssertionUsed(ctx, "jti1")
	wantErr(t, "assertion used, at expiry", err, nil)
	wantEqual(t, "used at expiry", used, false)
	if _, ok := b.(AssertionExpirer); !ok {
		wantErr(t, "use after expiry", b.UseAssertion(ctx, "jti1", c.Now().Add(time.Minute)), nil)
	}
}

// testAssertionRace: of many concurrent uses of one id exactly one wins.
func testAssertionRace(t *testing.T, b Backend, c *Clock) {
	const n = 32
	var wins, used atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := b.UseAssertion(context.Background(), "raced", c.Now().Add(time.Minute)); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, oauth.ErrUsed):
				used.Add(1)
			default:
				t.Errorf("use assertion: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || used.Load() != n-1 {
		t.Fatalf("%d of %d concurrent uses of one assertion id won and %d were refused, want 1 and %d", wins.Load(), n, used.Load(), n-1)
	}
}
