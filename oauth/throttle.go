package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ory/fosite"
)

// Limit is a throttle in the shape of the generic cell rate algorithm
// (GCRA): Burst events at once, then one more every Every. A key that has
// used its burst waits Every for each further event, and is back to a
// full burst after Burst×Every without events.
type Limit struct {
	Burst int
	Every time.Duration
}

// Limiter throttles events per key. Its state lives in the store, so
// every replica shares it. Keys are built by this package, KIND:SUBJECT:
// a kind and, as the subject, a keyed digest, never a username or a
// client id. A client's keys of every kind share its subject, so that a
// backend can keep them together (see Gate).
type Limiter interface {
	// Allow takes one event from key's allowance under l. It returns 0
	// when the event may happen; otherwise it takes nothing and returns
	// how long until one may.
	Allow(ctx context.Context, key string, l Limit) (time.Duration, error)
	// Peek returns, taking nothing, how long until key may have one event
	// under l: 0 if it may now.
	Peek(ctx context.Context, key string, l Limit) (time.Duration, error)
}

// Gate is the throttling an introspection does in the store step that
// checks its token (TokenStore.CheckAccessGated): Hold's allowance is
// looked at, as Peek does, and one event is taken from Take's, as Allow
// does, only when Hold may have one. Hold and Take name one subject
// (they differ in their kind alone), so that a backend can judge both at
// once (Redis: one script on one Cluster slot).
type Gate struct {
	Hold, Take           string
	HoldLimit, TakeLimit Limit
}

// Gated is what judging a Gate found.
type Gated struct {
	// Judged is false when the step failed before it judged the gate:
	// nothing is then known of either allowance.
	Judged bool
	// Hold is how long until Hold may have an event, when it may have
	// none now: then nothing was taken.
	Hold time.Duration
	// Take is how long until Take may have an event, when its event was
	// refused: then nothing was taken either.
	Take time.Duration
}

// The default limits (Config's zero Limits take them).
var (
	// DefaultLoginLimit counts every sign-in attempt per username, known
	// or not: 5 at once, then one every 2 minutes (30 an hour); a full 5
	// again after 10 quiet minutes.
	DefaultLoginLimit = Limit{Burst: 5, Every: 2 * time.Minute}
	// DefaultClientAuthLimit counts failed client authentications at the
	// token, revocation and introspection endpoints per client_id:
	// 20 at once, then one every 30 seconds. Successes never count.
	DefaultClientAuthLimit = Limit{Burst: 20, Every: 30 * time.Second}
	// DefaultIntrospectLimit counts introspection calls per authenticated
	// client: 120 at once, then two a second.
	DefaultIntrospectLimit = Limit{Burst: 120, Every: 500 * time.Millisecond}
)

// The kinds of throttled events, the first part of every limiter key.
const (
	throttleLogin      = "login"
	throttleClientAuth = "client-auth"
	throttleIntrospect = "introspect"
)

// throttleKey names whom an event counts against: the kind, and an HMAC
// of the name under the token secret (shared by every replica), so a key
// has a fixed length and reveals no username or client id, even to a
// dictionary. A client's keys share one HMAC, the one its client-auth key
// always had (see Limiter), and a username's is another's (the login kind
// is in what is hashed).
func (s *Server) throttleKey(kind, name string) string {
	domain := kind
	if kind == throttleIntrospect {
		domain = throttleClientAuth
	}
	m := hmac.New(sha256.New, s.cfg.TokenSecret)
	m.Write([]byte(domain + "\x00" + name))
	return kind + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

// retryAfterSeconds is a wait as Retry-After wants it: whole seconds,
// rounded up, at least 1 (RFC 9110 §10.2.3).
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// errThrottled is the RFC 6749 JSON answer to a throttled client.
var errThrottled = &fosite.RFC6749Error{
	ErrorField:       "temporarily_unavailable",
	DescriptionField: "Too many requests from this client; retry after the time Retry-After gives.",
	CodeField:        http.StatusTooManyRequests,
}

// writeThrottled answers a throttled OAuth endpoint request: 429 with
// Retry-After and RFC 6749 JSON; or, when the limiter failed, 503.
func (s *Server) writeThrottled(ctx context.Context, w http.ResponseWriter, wait time.Duration, err error) {
	if err != nil {
		s.deps.Logger.ErrorContext(ctx, "throttle check failed", "err", err)
		w.Header().Set("Retry-After", "5")
		s.provider.WriteAccessError(ctx, w, nil, fosite.ErrTemporarilyUnavailable)
		return
	}
	s.deps.Logger.InfoContext(ctx, "client throttled", "retry_after_s", retryAfterSeconds(wait))
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
	s.provider.WriteAccessError(ctx, w, nil, errThrottled)
}

// clientThrottled answers, and reports true for, a request whose claimed
// client has failed authentication too often lately. It is checked
// before the client is authenticated, so the right secret waits too.
func (s *Server) clientThrottled(ctx context.Context, w http.ResponseWriter, r *http.Request) bool {
	id := clientIDOf(r)
	if id == "" {
		return false
	}
	wait, err := s.deps.Storage.Peek(ctx, s.throttleKey(throttleClientAuth, id), s.cfg.ClientAuthLimit)
	if err == nil && wait <= 0 {
		return false
	}
	s.writeThrottled(ctx, w, wait, err)
	return true
}

// noteClientAuth counts err against the claimed client when it says the
// client failed to authenticate (RFC 6749 invalid_client, or fosite's
// request_unauthorized at the introspection endpoint).
func (s *Server) noteClientAuth(ctx context.Context, r *http.Request, err error) {
	id := clientIDOf(r)
	if id == "" || !(errors.Is(err, fosite.ErrInvalidClient) || errors.Is(err, fosite.ErrRequestUnauthorized)) {
		return
	}
	if storeFailure(ctx, err) != nil {
		return // the client was not checked: the store failed, not its credentials
	}
	if _, err := s.deps.Storage.Allow(ctx, s.throttleKey(throttleClientAuth, id), s.cfg.ClientAuthLimit); err != nil {
		s.deps.Logger.ErrorContext(ctx, "count a failed client authentication", "err", err)
	}
}

// introspectThrottled counts an authenticated client's introspection call
// (whatever the token: probing for active tokens counts too) and answers
// 429, withholding the answer, when the client is over its rate. A call
// whose event was already taken in its token check's store step (gated
// Judged) is judged by what that step found, not counted again.
func (s *Server) introspectThrottled(ctx context.Context, w http.ResponseWriter, r *http.Request, gated Gated) bool {
	wait := gated.Take
	var err error
	if !gated.Judged {
		wait, err = s.deps.Storage.Allow(ctx, s.throttleKey(throttleIntrospect, clientIDOf(r)), s.cfg.IntrospectLimit)
	}
	if err == nil && wait <= 0 {
		return false
	}
	s.writeThrottled(ctx, w, wait, err)
	return true
}

// introspectGate is the gate an introspection naming clientID passes in
// its token check's store step: the client's client-auth allowance held,
// an event taken from its introspection allowance.
func (s *Server) introspectGate(clientID string) Gate {
	if g, ok := s.gates.get(clientID); ok {
		return g
	}
	g := Gate{Hold: s.throttleKey(throttleClientAuth, clientID), HoldLimit: s.cfg.ClientAuthLimit,
		Take: s.throttleKey(throttleIntrospect, clientID), TakeLimit: s.cfg.IntrospectLimit}
	s.gates.put(clientID, g)
	return g
}

// Bounds of the gate cache: clients, and the longest client id kept.
const (
	gateCacheSize     = 1024
	gateCacheMaxIDLen = 128
)

// gateCache keeps the introspection gates of recently seen client ids,
// so that an introspection does not compute its keys' HMACs again (they
// never change for a client). Bounded in entries and in the length of
// the ids it keeps, since the ids are whatever callers send; when full,
// an arbitrary entry makes room.
type gateCache struct {
	mu sync.Mutex
	m  map[string]Gate
}

func (c *gateCache) get(clientID string) (Gate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.m[clientID]
	return g, ok
}

func (c *gateCache) put(clientID string, g Gate) {
	if len(clientID) > gateCacheMaxIDLen {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]Gate)
	}
	if len(c.m) >= gateCacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[clientID] = g
}
