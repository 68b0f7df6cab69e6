package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/devaccount"
	"github.com/patientaccess/gateway/gateway/webhook"
	"github.com/patientaccess/gateway/oauth"
)

// Backend is what every storage backend implements.
type Backend interface {
	apps.Store
	oauth.Storage
	webhook.Store
	devaccount.Store
	// AppsVersion moves whenever an app is created or changed.
	AppsVersion(ctx context.Context) (int64, error)
}

// Expirer is implemented by backends whose keys are deleted by a server
// clock the suite cannot move (Redis). The suite checks the deadlines they
// report instead.
type Expirer interface {
	// TokenExpiry returns when the server will stop finding the token
	// record: drop what finds it (and the record, or what holds it, no
	// earlier), or an error if any of those has no expiry or the deadlines
	// disagree. oauth.ErrNotFound if there is no record.
	TokenExpiry(ctx context.Context, kind oauth.TokenKind, signature string) (time.Time, error)
	// SessionExpiry returns when the server will drop the session, or an
	// error if it has no expiry. oauth.ErrNotFound if there is no session.
	SessionExpiry(ctx context.Context, id string) (time.Time, error)
}

// Clock is a settable clock for expiry tests. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads t until moved.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time; pass it to a backend as its clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Opener returns a new, empty backend that reads time from clock. It
// registers any cleanup with t.Cleanup.
type Opener func(t *testing.T, clock *Clock) Backend

// Run runs every conformance test against backends made by open, each
// subtest with its own backend and clock.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend, c *Clock)
	}{
		{"AppsCRUD", testAppsCRUD},
		{"AppsListOrder", testAppsListOrder},
		{"AppsCopies", testAppsCopies},
		{"AppsUpdateRace", testAppsUpdateRace},
		{"AppsVersion", testAppsVersion},
		{"DecideRace", testDecideRace},
		{"History", testHistory},
		{"ChecksAndWatch", testChecksAndWatch},
		{"AppUsage", testAppUsage},
		{"AppLogos", testAppLogos},
		{"Grants", testGrants},
		{"GrantsRevoke", testGrantsRevoke},
		{"GrantsForgotten", testGrantsForgotten},
		{"Events", testEvents},
		{"EventsBounded", testEventsBounded},
		{"EventsRetention", testEventsRetention},
		{"MemberEvents", testMemberEvents},
		{"MemberEventsFarBack", testMemberEventsFarBack},
		{"Members", testMembers},
		{"MemberLinks", testMemberLinks},
		{"Sessions", testSessions},
		{"SessionExpiry", testSessionExpiry},
		{"Tokens", testTokens},
		{"TokenCopies", testTokenCopies},
		{"TokenDeactivate", testTokenDeactivate},
		{"TokenExpiry", testTokenExpiry},
		{"CheckAccess", testCheckAccess},
		{"CheckAccessIssued", testCheckAccessIssued},
		{"CheckAccessAppend", testCheckAccessAppend},
		{"CheckAccessGated", testCheckAccessGated},
		{"CheckAccessGatedRace", testCheckAccessGatedRace},
		{"RevokeRequest", testRevokeRequest},
		{"RevokeRequestKinds", testRevokeRequestKinds},
		{"DeactivateRace", testDeactivateRace},
		{"Assertions", testAssertions},
		{"AssertionRace", testAssertionRace},
		{"LimiterBurst", testLimiterBurst},
		{"LimiterWindow", testLimiterWindow},
		{"LimiterRace", testLimiterRace},
		{"TokenUseCode", testTokenUseCode},
		{"TokenUseRefresh", testTokenUseRefresh},
		{"TokenUseOtherRequest", testTokenUseOtherRequest},
		{"TokenUseRace", testTokenUseRace},
		{"TokenUseRetires", testTokenUseRetires},
		{"Deliveries", testDeliveries},
		{"DeliveryClaimRace", testDeliveryClaimRace},
		{"DeliveriesForgotten", testDeliveriesForgotten},
		{"Developers", testDevelopers},
		{"DeveloperSignUpRace", testDeveloperSignUpRace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock(time.Now().UTC().Truncate(time.Millisecond))
			tt.fn(t, open(t, clock), clock)
		})
	}
}

// wantErr fails unless errors.Is(err, target), or err is nil when target is.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if target == nil && err != nil {
		t.Fatalf("%s: unexpected error %v", what, err)
	}
	if target != nil && !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want %v", what, err, target)
	}
}

// wantEqual fails unless got and want are deeply equal.
func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}
