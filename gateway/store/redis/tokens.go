package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// CreateToken stores a record in its request's hash, replacing any with
// the same kind and signature, then its pointer. The pointer expires at
// ExpiresAt+oauth.InactiveTail, the request's hash no earlier.
func (s *Store) CreateToken(ctx context.Context, kind oauth.TokenKind, signature string, rec oauth.TokenRecord) error {
	data, err := encodeInline(rec)
	if err != nil {
		return fmt.Errorf("redis: encode %s token: %w", kind, err)
	}
	deadline := tokenDeadline(rec)
	err = createTokenScript.Run(ctx, s.c, []string{s.indexKey(rec.RequestID)}, member(kind, signature), data, deadline).Err()
	if err != nil {
		return fmt.Errorf("redis: create %s token: %w", kind, err)
	}
	if err := s.c.Do(ctx, "SET", s.pointerKey(kind, signature), pointerValue(rec), "PXAT", deadline).Err(); err != nil {
		return fmt.Errorf("redis: create %s token pointer: %w", kind, err)
	}
	return nil
}

// GetToken returns the record, active or not, or oauth.ErrNotFound when it
// is absent or past its expiry plus oauth.InactiveTail.
func (s *Store) GetToken(ctx context.Context, kind oauth.TokenKind, signature string) (oauth.TokenRecord, error) {
	requestID, err := s.requestOf(ctx, kind, signature)
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: get %s token: %w", kind, err)
	}
	res, err := s.runScript(ctx, readTokenScript, s.tokenKeys(requestID, kind, signature), member(kind, signature)).Slice()
	if errors.Is(err, goredis.Nil) {
		return oauth.TokenRecord{}, fmt.Errorf("redis: get %s token: %w", kind, oauth.ErrNotFound)
	}
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: get %s token: %w", kind, err)
	}
	return s.decodeFound(kind, requestID, res)
}

// decodeFound decodes what readTokenScript found.
func (s *Store) decodeFound(kind oauth.TokenKind, requestID string, res []any) (oauth.TokenRecord, error) {
	form, _ := res[0].(int64)
	data, _ := res[1].(string)
	if form != formOwnKey {
		return s.decodeRecord(kind, form, data, requestID, false)
	}
	active, _ := res[2].(string)
	rec, err := s.decodeRecord(kind, form, data, requestID, active == "1")
	if chk, _ := res[3].(string); chk != "" && err == nil {
		rec.Claims = []byte(chk)
	}
	return rec, err
}

// CheckAccess reads the access token's pointer (unless q already names
// its request and client), then, in one pipeline (shared with concurrent
// checks, see batcher), the record (one field
// of its request's hash, of which only the active flag, the expiry and,
// unless q.KnownClaims, the claims are decoded), the grant, and the apps
// version (the app itself only when none is kept, or, in a second round
// trip, when the version moved; see decoded). A record stored elsewhere
// (a tombstone, or by an older gateway) is read whole, and its app after
// it.
func (s *Store) CheckAccess(ctx context.Context, q oauth.AccessQuery) (oauth.AccessCheck, error) {
	c, _, err := s.checkAccess(ctx, q, nil, nil)
	return c, err
}

// checkAccess is CheckAccess with first's commands added to its first
// round trip (the pointer's, or the check's pipeline) and the appends of
// events' payloads to its check's pipeline, after its reads (refs gets
// what they appended). It judges no error of first's.
func (s *Store) checkAccess(ctx context.Context, q oauth.AccessQuery, first func(goredis.Pipeliner), events []eventPayload) (oauth.AccessCheck, []eventAppend, error) {
	requestID, clientID := q.RequestID, q.ClientID
	if requestID == "" || clientID == "" {
		var err error
		if requestID, clientID, err = s.accessPointer(ctx, q.Signature, first); err != nil {
			return oauth.AccessCheck{}, nil, fmt.Errorf("redis: check access token: %w", err)
		}
		first = nil
	}
	member := ""
	if len(events) > 0 {
		member = events[0].member
	}
	a := &accessCall{s: s, ctx: ctx, args: s.checkArgs.get(s, q.Signature, requestID, clientID, member),
		first: first, events: events, cut: s.minID()}
	a.appends = a.appendsBuf[:0]
	a.q = a
	err := s.batch.run(ctx, &a.batchCall)
	if roundTripFailed(err) {
		return oauth.AccessCheck{}, a.appends, fmt.Errorf("redis: check access token: %w", err)
	}
	if err := a.field.Err(); err != nil && !errors.Is(err, goredis.Nil) && !isWrongType(err) {
		return oauth.AccessCheck{}, a.appends, fmt.Errorf("redis: check access token: %w", err)
	}
	hasApp := a.hasApp
	var c oauth.AccessCheck
	active, claims, expiresAt, inline := inlineCheck(a.field.Val())
	if !inline || clientID == "" {
		if c.Record, err = s.GetToken(ctx, oauth.KindAccess, q.Signature); err != nil {
			return oauth.AccessCheck{}, a.appends, fmt.Errorf("redis: check access token: %w", err)
		}
		if c.Record.ClientID != clientID {
			hasApp = false
			if c.App, err = s.GetApp(ctx, c.Record.ClientID); err != nil && !errors.Is(err, apps.ErrNotFound) {
				return oauth.AccessCheck{}, a.appends, fmt.Errorf("redis: check access token: %w", err)
			}
		}
	} else {
		c.Record = oauth.TokenRecord{RequestID: requestID, ClientID: clientID, Active: active, ExpiresAt: expiresAt}
		if !q.KnownClaims && claims != "" {
			c.Record.Claims = []byte(claims)
		}
		if !s.now().Before(c.Record.ExpiresAt.Add(oauth.InactiveTail)) {
			return oauth.AccessCheck{}, a.appends, fmt.Errorf("redis: check access token: %w", oauth.ErrNotFound)
		}
	}
	if c.Grant, err = s.decoded.grant(a.grant); err != nil {
		return oauth.AccessCheck{}, a.appends, fmt.Errorf("redis: check access token: grant: %w", err)
	}
	if hasApp {
		if c.App, err = s.decoded.app(ctx, s.c, a.app); err != nil {
			return oauth.AccessCheck{}, a.appends, fmt.Errorf("redis: check access token: app: %w", err)
		}
	}
	return c, a.appends, nil
}

// accessCall is one token check on its way through the batcher: its
// call, the commands it queues and what they answer, in one allocation.
type accessCall struct {
	batchCall
	s      *Store
	ctx    context.Context
	args   *accessArgs
	first  func(goredis.Pipeliner) // nil: none
	events []eventPayload
	cut    int64 // the appends' MINID (minID)

	field      *goredis.StringCmd
	grant      pendingGrant
	app        pendingApp
	hasApp     bool
	appends    []eventAppend
	appendsBuf [2]eventAppend // room for one event's two appends
}

// queue implements queuer: first's commands, the record's field (HGET),
// the grant and the app (see decoded), each read shared with the batch's
// other checks, then the events' appends.
func (a *accessCall) queue(p goredis.Pipeliner, shared *sharedReads) {
	ctx, s, args := a.ctx, a.s, a.args
	if a.first != nil {
		a.first(p)
	}
	a.field = shared.hget(ctx, p, args.index, args.field)
	a.grant = s.decoded.readGrant(ctx, p, shared, args.requestID, args.grantKey, args.grant)
	if args.clientID != "" {
		a.app, a.hasApp = s.decoded.readApp(ctx, p, shared, s.appsVersionArg, args.appKey, args.app), true
	}
	for i := range a.events {
		var memberKey any
		if e := &a.events[i]; e.member == args.member && args.member != "" {
			memberKey = args.memberEvents
		}
		a.appends = s.queueEvent(ctx, p, &a.events[i], &a.cut, memberKey, a.appends)
	}
}

// accessPointer reads an access token's pointer: its request and client.
// first's commands (if not nil) go in the same round trip, and the
// pointer's read then shares it with concurrent checks (batcher).
func (s *Store) accessPointer(ctx context.Context, signature string, first func(goredis.Pipeliner)) (requestID, clientID string, err error) {
	key := s.pointerKey(oauth.KindAccess, signature)
	var ptr *goredis.StringCmd
	if first == nil {
		ptr = s.c.Get(ctx, key)
	} else if err := s.batch.pipelined(ctx, func(p goredis.Pipeliner) {
		ptr = p.Get(ctx, key)
		first(p)
	}); roundTripFailed(err) {
		return "", "", err
	}
	v, err := ptr.Result()
	if errors.Is(err, goredis.Nil) {
		return "", "", oauth.ErrNotFound
	}
	if err != nil {
		return "", "", err
	}
	requestID, clientID = parsePointer(v)
	return requestID, clientID, nil
}

// isWrongType reports Redis's answer to a hash command on a request's
// index that an older gateway wrote as a set.
func isWrongType(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "WRONGTYPE")
}

// DeleteToken removes a record; removing a missing record is not an error.
func (s *Store) DeleteToken(ctx context.Context, kind oauth.TokenKind, signature string) error {
	requestID, err := s.requestOf(ctx, kind, signature)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redis: delete %s token: %w", kind, err)
	}
	m := member(kind, signature)
	keys := []string{s.ownKey(requestID, m), s.indexKey(requestID), s.usedKey(requestID)}
	if err := deleteTokenScript.Run(ctx, s.c, keys, m).Err(); err != nil {
		return fmt.Errorf("redis: delete %s token: %w", kind, err)
	}
	if err := s.c.Del(ctx, s.pointerKey(kind, signature)).Err(); err != nil {
		return fmt.Errorf("redis: delete %s token pointer: %w", kind, err)
	}
	return nil
}

// DeactivateToken atomically turns an active record inactive and returns it
// as it was: oauth.ErrInactive if it was already inactive, oauth.ErrNotFound
// if there is none (or it expired).
func (s *Store) DeactivateToken(ctx context.Context, kind oauth.TokenKind, signature string) (oauth.TokenRecord, error) {
	requestID, err := s.requestOf(ctx, kind, signature)
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: deactivate %s token: %w", kind, err)
	}
	res, err := deactivateScript.Run(ctx, s.c, s.tokenKeys(requestID, kind, signature),
		member(kind, signature), oauth.InactiveTail.Milliseconds()).Slice()
	if errors.Is(err, goredis.Nil) {
		return oauth.TokenRecord{}, fmt.Errorf("redis: deactivate %s token: %w", kind, oauth.ErrNotFound)
	}
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: deactivate %s token: %w", kind, err)
	}
	won, _ := res[0].(int64)
	form, _ := res[1].(int64)
	data, _ := res[2].(string)
	rec, err := s.decodeRecord(kind, form, data, requestID, won == 1)
	if err != nil {
		return oauth.TokenRecord{}, err
	}
	if won != 1 {
		return rec, fmt.Errorf("redis: deactivate %s token: %w", kind, oauth.ErrInactive)
	}
	return rec, nil
}

// RevokeRequest removes every record of the given kinds (all kinds if
// none are given) issued under requestID: it reads the members of the
// request's hash, then deletes those records and the tombstones of those
// kinds in one script that first checks the hash has not gained a record
// meanwhile, retrying if it has.
func (s *Store) RevokeRequest(ctx context.Context, requestID string, kinds ...oauth.TokenKind) error {
	index := s.indexKey(requestID)
	for range maxTxAttempts {
		members, err := indexMembersScript.Run(ctx, s.c, []string{index}).StringSlice()
		if err != nil {
			return fmt.Errorf("redis: revoke request: %w", err)
		}
		keys := []string{index, s.usedKey(requestID)}
		args := []any{len(kinds)}
		for _, k := range kinds {
			args = append(args, string(k))
		}
		for _, m := range members {
			kind, _, _ := strings.Cut(m, ":")
			if len(kinds) == 0 || slices.Contains(kinds, oauth.TokenKind(kind)) {
				keys = append(keys, s.ownKey(requestID, m))
				args = append(args, m)
			}
		}
		done, err := revokeScript.Run(ctx, s.c, keys, args...).Int()
		if err != nil {
			return fmt.Errorf("redis: revoke request: %w", err)
		}
		if done == 1 {
			return nil
		}
	}
	return fmt.Errorf("redis: revoke request: gave up after %d concurrent changes", maxTxAttempts)
}

// TokenExpiry returns when Redis stops finding the record: when its
// pointer expires, after checking that what holds the record (its
// request's hash, its used hash, or a key of its own) lives no shorter,
// and that a key of its own expires with its pointer.
// oauth.ErrNotFound if there is no record.
func (s *Store) TokenExpiry(ctx context.Context, kind oauth.TokenKind, signature string) (time.Time, error) {
	requestID, err := s.requestOf(ctx, kind, signature)
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: %s token expiry: %w", kind, err)
	}
	res, err := readTokenScript.Run(ctx, s.c, s.tokenKeys(requestID, kind, signature), member(kind, signature)).Slice()
	if errors.Is(err, goredis.Nil) {
		return time.Time{}, fmt.Errorf("redis: %s token expiry: %w", kind, oauth.ErrNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: %s token expiry: %w", kind, err)
	}
	form, _ := res[0].(int64)
	names := []string{"pointer", "request's hash"}
	keys := []string{s.pointerKey(kind, signature), s.indexKey(requestID)}
	switch form {
	case formUsed:
		names[1], keys[1] = "used hash", s.usedKey(requestID)
	case formOwnKey:
		names, keys = append(names, "record"), append(keys, s.ownKey(requestID, member(kind, signature)))
	}
	at := make([]int64, len(keys))
	for i, key := range keys {
		if at[i], err = s.expireTime(ctx, key); err != nil {
			return time.Time{}, fmt.Errorf("redis: %s token %s expiry: %w", kind, names[i], err)
		}
	}
	if at[1] < at[0] || form == formOwnKey && at[2] != at[0] {
		return time.Time{}, fmt.Errorf("redis: %s token expiries disagree: %q at %v ms", kind, names, at)
	}
	return time.UnixMilli(at[0]).UTC(), nil
}

// expireTime returns a key's PEXPIRETIME, oauth.ErrNotFound if the key is
// missing, or an error if it never expires.
func (s *Store) expireTime(ctx context.Context, key string) (int64, error) {
	ms, err := s.c.PExpireTime(ctx, key).Result()
	if err != nil {
		return 0, err
	}
	switch ms {
	case -2:
		return 0, oauth.ErrNotFound
	case -1:
		return 0, errors.New("key has no expiry")
	}
	return int64(ms / time.Millisecond), nil
}

// requestOf follows a signature's pointer to its request id.
func (s *Store) requestOf(ctx context.Context, kind oauth.TokenKind, signature string) (string, error) {
	v, err := s.gets.Get(ctx, s.pointerKey(kind, signature)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", oauth.ErrNotFound
	}
	if err != nil {
		return "", err
	}
	requestID, _ := parsePointer(v)
	return requestID, nil
}

// tokenKeys are the keys a record may be in, as the token scripts take
// them: its request's hash, its used hash, and its own key.
func (s *Store) tokenKeys(requestID string, kind oauth.TokenKind, signature string) []string {
	return []string{s.indexKey(requestID), s.usedKey(requestID), s.ownKey(requestID, member(kind, signature))}
}

// decodeRecord decodes a stored record in the form it was found in, sets
// its active flag (given for a record in a key of its own) and applies the
// read-side expiry check.
func (s *Store) decodeRecord(kind oauth.TokenKind, form int64, data, requestID string, active bool) (oauth.TokenRecord, error) {
	var (
		rec oauth.TokenRecord
		err error
	)
	switch form {
	case formInline:
		rec, err = parseInline(data, requestID)
	case formUsed:
		rec, err = parseUsed(data, requestID)
	default:
		rec, err = parseRecord(data, requestID)
		rec.Active = active
	}
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: decode %s token: %w", kind, err)
	}
	if !s.now().Before(rec.ExpiresAt.Add(oauth.InactiveTail)) {
		return oauth.TokenRecord{}, fmt.Errorf("redis: %s token: %w", kind, oauth.ErrNotFound)
	}
	return rec, nil
}

// tokenDeadline is when Redis drops a record: ExpiresAt+InactiveTail in
// milliseconds, rounded up so Redis never drops it before the read-side
// check would.
func tokenDeadline(rec oauth.TokenRecord) int64 {
	return ceilMilli(rec.ExpiresAt.Add(oauth.InactiveTail))
}

// ceilMilli converts a deadline for PEXPIREAT, rounding up to the next
// millisecond. Redis refuses a deadline at or before the epoch, so those
// become 1 ms, which is already past.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return max(ms, 1)
}
