package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// DefaultPrefix starts every key unless WithPrefix says otherwise.
const DefaultPrefix = "pag:"

// Store is a Redis apps.Store and oauth.Storage. It does not own the
// client: closing it is the caller's job.
type Store struct {
	c         goredis.UniversalClient
	rate      *redis_rate.Limiter
	prefix    string
	now       func() time.Time
	retention time.Duration // of audit events
	events    string        // the plan's audit stream's key, made once (every FHIR call appends to it)
	// eventsArg and appsVersionArg are the plan's stream's key and the
	// apps version's, boxed once as go-redis takes a command's arguments.
	eventsArg, appsVersionArg any
	// checkArgs keeps the arguments of the tokens checked lately.
	checkArgs checkArgs
	// decoded keeps the apps and grants the token check read last.
	decoded decoded
	// batch sends concurrent callers' commands together: token checks,
	// audit appends, a refresh's writes, single reads (gets, runScript).
	batch *batcher
	gets  batchedGets // GETs through batch
	// gates keeps the script arguments of the gates judged lately.
	gates bounded[oauth.Gate, *gateCall]
}

// The compile-time proof that Store is a complete backend.
var (
	_ apps.Store    = (*Store)(nil)
	_ oauth.Storage = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the prefix of every key. It must not contain '{' or '}'
// (they would break the Cluster hash tags).
func WithPrefix(prefix string) Option { return func(s *Store) { s.prefix = prefix } }

// WithNow sets the clock reads judge expiry with (time.Now by default).
// Redis deletes keys by its own clock regardless.
func WithNow(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithAuditRetention sets how long audit events are kept
// (apps.DefaultAuditRetention by default).
func WithAuditRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// New returns a store that keeps its data in c. It adds a hook to c that
// marks every error meaning Redis could not do the work now (down,
// stalled, loading, out of memory…) with apps.ErrUnavailable, so that an
// outage is never mistaken for an answer such as "not found".
func New(c goredis.UniversalClient, opts ...Option) *Store {
	c.AddHook(unavailableHook{})
	s := &Store{c: c, rate: redis_rate.NewLimiter(c), prefix: DefaultPrefix, now: time.Now, retention: apps.DefaultAuditRetention}
	for _, o := range opts {
		o(s)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.events = s.prefix + "events"
	s.eventsArg, s.appsVersionArg = s.events, s.appsVersionKey()
	s.batch = &batcher{c: c, max: maxBatchesInFlight}
	s.gets = batchedGets{s.batch}
	s.checkArgs.kept.max, s.decoded.kept.max, s.gates.max = checkArgsSize, decodedCacheSize, gateArgsSize
	return s
}

// Ping checks that Redis answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Key names; see doc.go for the layout.

func (s *Store) appKey(id string) string  { return s.prefix + "{apps}:app:" + id }
func (s *Store) appIndexKey() string      { return s.prefix + "{apps}:index" }
func (s *Store) appsVersionKey() string   { return s.prefix + "{apps}:version" }
func (s *Store) logoKey(id string) string { return s.prefix + "applogo:" + id }
func (s *Store) historyKey(id string) string {
	return s.prefix + "{apps}:hist" + cond(id != "", ":"+id)
}
func (s *Store) checksKey(id string) string      { return s.prefix + "appchecks:" + id }
func (s *Store) watchKey(id string) string       { return s.prefix + "appwatch:" + id }
func (s *Store) lastCallKey(id string) string    { return s.prefix + "applast:" + id }
func (s *Store) appGrantsKey(id string) string   { return s.prefix + "appgrants:" + id }
func (s *Store) grantKey(id string) string       { return s.prefix + "grant:" + id }
func (s *Store) grantsKey(member string) string  { return s.prefix + "grants:" + member }
func (s *Store) memberKey(name string) string    { return s.prefix + "member:" + name }
func (s *Store) linkKey(member string) string    { return s.prefix + "mlink:" + member }
func (s *Store) sessionKey(id string) string     { return s.prefix + "sess:" + id }
func (s *Store) eventsKey() string               { return s.events }
func (s *Store) memberEventsKey(m string) string { return s.prefix + "mevents:" + m }
func (s *Store) deliveryKey(id string) string    { return s.prefix + "whook:" + id }
func (s *Store) dueKey() string                  { return s.prefix + "whooks:due" }

// deliveriesKey indexes every delivery ("") or one app's, by creation time.
func (s *Store) deliveriesKey(clientID string) string {
	if clientID == "" {
		return s.prefix + "whooks:all"
	}
	return s.prefix + "whooks:app:" + clientID
}

func (s *Store) pointerKey(kind oauth.TokenKind, sig string) string {
	return s.prefix + "tok:" + string(kind) + ":" + sig
}

// indexKey is a request's hash: its records, and the members of its
// index an older gateway gave a key of their own.
func (s *Store) indexKey(requestID string) string {
	return s.prefix + "{req:" + requestID + "}:toks"
}

// usedKey is a request's used hash: the tombstones of its used codes and
// rotated refresh tokens.
func (s *Store) usedKey(requestID string) string {
	return s.prefix + "{req:" + requestID + "}:used"
}

// ownKey is the key of its own an older gateway gave a record, member(kind,
// sig) in its request's index.
func (s *Store) ownKey(requestID, member string) string {
	return s.prefix + "{req:" + requestID + "}:tok:" + member
}

// member is a record's field in its request's hash.
func member(kind oauth.TokenKind, sig string) string { return string(kind) + ":" + sig }

// cond returns s when ok, else "".
func cond(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}
