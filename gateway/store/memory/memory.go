package memory

import (
	"slices"
	"sync"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/devaccount"
	"github.com/patientaccess/gateway/gateway/webhook"
	"github.com/patientaccess/gateway/oauth"
)

// sweepEvery is how many writes pass between two sweeps of expired tokens
// and sessions.
const sweepEvery = 1024

// Store is an in-memory apps.Store and oauth.Storage (oauth.Limiter
// included). The zero value is not usable; call New.
type Store struct {
	now       func() time.Time
	retention time.Duration // of audit events

	mu     sync.Mutex
	writes int
	apps   map[string]apps.App
	logos  map[string][]byte
	// The review of apps (vetting.go).
	history  []apps.HistoryEntry
	checks   map[string]apps.Checks
	watches  map[string]apps.PolicyWatch
	lastCall map[string]time.Time
	// appsVersion counts changes to apps (AppsVersion).
	appsVersion int64
	// deliveries are revocation notices; leases hides claimed ones until then.
	deliveries map[string]webhook.Delivery
	leases     map[string]time.Time
	grants     map[string]apps.Grant
	byMember   map[string][]string // member -> grant ids
	// events are the audit events, as compact records (events.go).
	events    eventLog
	members   map[string]oauth.Member
	links     map[string]oauth.MemberLink
	sessions  map[string]oauth.LoginSession
	tokens    map[tokenKey]oauth.TokenRecord
	byRequest map[string]map[tokenKey]struct{} // request id -> its live records' keys
	// tombs are the used records' tombstones (tombs.go).
	tombs tombstones
	// assertions are used client assertion ids and their expiry.
	assertions map[string]time.Time
	// rates are limiter keys and their theoretical arrival time (GCRA).
	rates map[string]time.Time
	// developers are developer portal accounts by email address.
	developers map[string]devaccount.Account
}

// The compile-time proof that Store is a complete backend.
var (
	_ apps.Store    = (*Store)(nil)
	_ oauth.Storage = (*Store)(nil)
)

type tokenKey struct {
	kind oauth.TokenKind
	sig  string
}

// Option configures a Store.
type Option func(*Store)

// WithAuditRetention sets how long audit events are kept
// (apps.DefaultAuditRetention by default).
func WithAuditRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// New returns an empty store that judges expiry with now (time.Now if nil).
func New(now func() time.Time, opts ...Option) *Store {
	if now == nil {
		now = time.Now
	}
	s := &Store{
		now:        now,
		retention:  apps.DefaultAuditRetention,
		apps:       map[string]apps.App{},
		logos:      map[string][]byte{},
		checks:     map[string]apps.Checks{},
		watches:    map[string]apps.PolicyWatch{},
		lastCall:   map[string]time.Time{},
		deliveries: map[string]webhook.Delivery{},
		leases:     map[string]time.Time{},
		grants:     map[string]apps.Grant{},
		byMember:   map[string][]string{},
		members:    map[string]oauth.Member{},
		links:      map[string]oauth.MemberLink{},
		sessions:   map[string]oauth.LoginSession{},
		tokens:     map[tokenKey]oauth.TokenRecord{},
		byRequest:  map[string]map[tokenKey]struct{}{},
		rates:      map[string]time.Time{},
		developers: map[string]devaccount.Account{},
		events:     newEventLog(),
		tombs:      newTombstones(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// wrote counts a write and sweeps expired entries every sweepEvery writes.
// The caller holds s.mu.
func (s *Store) wrote() {
	s.writes++
	if s.writes%sweepEvery != 0 {
		return
	}
	now := s.now()
	for k, rec := range s.tokens {
		if tokenExpired(rec, now) {
			s.removeToken(k)
		}
	}
	s.tombs.sweep(now)
	for id, g := range s.grants {
		if !g.Kept(now, s.retention) {
			s.dropGrant(id, g.Member)
		}
	}
	for id, sess := range s.sessions {
		if sessionExpired(sess, now) {
			delete(s.sessions, id)
		}
	}
	for id, d := range s.deliveries {
		if !s.deliveryKept(d) {
			delete(s.deliveries, id)
			delete(s.leases, id)
		}
	}
	for key, tat := range s.rates {
		if !tat.After(now) { // back to a full burst: nothing to remember
			delete(s.rates, key)
		}
	}
}

// tokenExpired reports whether a record is past its expiry plus tail.
func tokenExpired(rec oauth.TokenRecord, now time.Time) bool {
	return !now.Before(rec.ExpiresAt.Add(oauth.InactiveTail))
}

// sessionExpired reports whether a session is past its expiry.
func sessionExpired(sess oauth.LoginSession, now time.Time) bool {
	return !now.Before(sess.ExpiresAt)
}

// dropGrant forgets a grant and its place in its member's list. The
// caller holds s.mu.
func (s *Store) dropGrant(id, member string) {
	delete(s.grants, id)
	ids := slices.DeleteFunc(s.byMember[member], func(x string) bool { return x == id })
	if len(ids) == 0 {
		delete(s.byMember, member)
	} else {
		s.byMember[member] = ids
	}
}
