package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
)

// createAppScript sets an app's JSON only if absent, and indexes its id.
// It returns 1 if it wrote. KEYS: app, index, version. ARGV: app JSON,
// score, client id.
var createAppScript = goredis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('INCR', KEYS[3])
return 1`)

// CreateApp stores a new app; apps.ErrAlreadyExists if the client id is taken.
func (s *Store) CreateApp(ctx context.Context, a apps.App) error {
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("redis: create app: %w", err)
	}
	keys := []string{s.appKey(a.ClientID), s.appIndexKey(), s.appsVersionKey()}
	wrote, err := createAppScript.Run(ctx, s.c, keys, data, a.CreatedAt.UnixMilli(), a.ClientID).Int()
	if err != nil {
		return fmt.Errorf("redis: create app: %w", err)
	}
	if wrote != 1 {
		return fmt.Errorf("redis: create app: %w", apps.ErrAlreadyExists)
	}
	return nil
}

// maxAppAttempts bounds UpdateApp's optimistic retries: each round lets at
// least one of the racing changes through, so this many concurrent
// decisions on one app always land.
const maxAppAttempts = 64

// UpdateApp changes an app by compare-and-set: WATCH the app's key, read
// it, call change, and write it back (and its index entry) in MULTI/EXEC,
// which Redis refuses if the key changed since the WATCH; then it starts
// again, up to maxAppAttempts times. apps.ErrNotFound if there is none.
func (s *Store) UpdateApp(ctx context.Context, clientID string, change func(apps.App) (apps.App, error)) (apps.App, error) {
	key := s.appKey(clientID)
	var next apps.App
	update := func(tx *goredis.Tx) error {
		var cur apps.App
		if err := getJSON(ctx, tx, key, &cur); err != nil {
			return err
		}
		var err error
		if next, err = change(cur); err != nil {
			return changeError{err}
		}
		if next.ClientID != clientID {
			return changeError{fmt.Errorf("the client id cannot change (%q to %q)", clientID, next.ClientID)}
		}
		data, err := json.Marshal(next)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, key, data, 0)
			p.ZAdd(ctx, s.appIndexKey(), goredis.Z{Score: float64(next.CreatedAt.UnixMilli()), Member: clientID})
			p.Incr(ctx, s.appsVersionKey())
			return nil
		})
		return err
	}
	for attempt := range maxAppAttempts {
		err := s.c.Watch(ctx, update, key)
		var ce changeError
		switch {
		case err == nil:
			return next, nil
		case errors.As(err, &ce):
			return apps.App{}, fmt.Errorf("redis: update app: %w", ce.err)
		case !errors.Is(err, goredis.TxFailedErr):
			return apps.App{}, fmt.Errorf("redis: update app: %w", err)
		}
		backoff(ctx, attempt)
	}
	return apps.App{}, fmt.Errorf("redis: update app: gave up after %d conflicting writes", maxAppAttempts)
}

// changeError carries the error of UpdateApp's change function out of the
// transaction, apart from Redis's own.
type changeError struct{ err error }

func (e changeError) Error() string { return e.err.Error() }

// backoff waits a little, more after each conflict, with jitter, so that
// racing writers stop colliding.
func backoff(ctx context.Context, attempt int) {
	d := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 4)))
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// AppsVersion returns the count of changes made to apps: it moves
// whenever an app is created or changed (in the same step as the change).
func (s *Store) AppsVersion(ctx context.Context) (int64, error) {
	v, err := s.c.Get(ctx, s.appsVersionKey()).Int64()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redis: apps version: %w", err)
	}
	return v, nil
}

// GetApp returns the app with that client id, or apps.ErrNotFound.
func (s *Store) GetApp(ctx context.Context, clientID string) (apps.App, error) {
	var a apps.App
	if err := s.getJSON(ctx, s.appKey(clientID), &a); err != nil {
		return apps.App{}, fmt.Errorf("redis: get app: %w", err)
	}
	return a, nil
}

// ListApps returns every app, oldest CreatedAt first (ties by client id).
// The result is never nil.
func (s *Store) ListApps(ctx context.Context) ([]apps.App, error) {
	ids, err := s.c.ZRange(ctx, s.appIndexKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: list apps: %w", err)
	}
	out := make([]apps.App, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.appKey(id)
	}
	vals, err := s.c.MGet(ctx, keys...).Result() // one slot: the {apps} tag
	if err != nil {
		return nil, fmt.Errorf("redis: list apps: %w", err)
	}
	for _, v := range vals {
		data, ok := v.(string)
		if !ok {
			continue
		}
		var a apps.App
		if err := json.Unmarshal([]byte(data), &a); err != nil {
			return nil, fmt.Errorf("redis: list apps: decode: %w", err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y apps.App) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(x.ClientID, y.ClientID)
	})
	return out, nil
}

// PutAppLogo stores an app's logo, replacing any.
func (s *Store) PutAppLogo(ctx context.Context, clientID string, png []byte) error {
	if err := s.c.Set(ctx, s.logoKey(clientID), png, 0).Err(); err != nil {
		return fmt.Errorf("redis: put app logo: %w", err)
	}
	return nil
}

// GetAppLogo returns the app's logo, or apps.ErrNotFound.
func (s *Store) GetAppLogo(ctx context.Context, clientID string) ([]byte, error) {
	b, err := s.c.Get(ctx, s.logoKey(clientID)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis: get app logo: %w", apps.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("redis: get app logo: %w", err)
	}
	return b, nil
}

// indexUntilScript adds an id to a sorted set (a member's or an app's
// grants, the revocation notices) and keeps the set alive at least as long
// as what the id names. KEYS: set. ARGV: score, id, its deadline (ms; 0:
// none, and the set is kept for good).
var indexUntilScript = goredis.NewScript(extendIndexLua + `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local deadline = tonumber(ARGV[3])
if deadline == 0 then redis.call('PERSIST', KEYS[1]) else extend(KEYS[1], deadline) end
return 1`)

// grantDeadline is when Redis drops a grant's key (Unix ms): the grant's
// apps.Grant.KeepUntil with the store's retention, or 0 for a grant kept
// for good (one stored before grants had an end, never revoked).
func (s *Store) grantDeadline(g apps.Grant) int64 {
	until := g.KeepUntil(s.retention)
	if until.IsZero() {
		return 0
	}
	return ceilMilli(until)
}

// CreateGrant stores a new grant and indexes it under its member and its
// app; apps.ErrAlreadyExists if the id is taken. The grant's key expires
// at its apps.Grant.KeepUntil (the audit retention after its end), and
// each index lives at least as long as the grants it lists.
func (s *Store) CreateGrant(ctx context.Context, g apps.Grant) error {
	data, err := encodeGrant(g)
	if err != nil {
		return fmt.Errorf("redis: create grant: %w", err)
	}
	deadline := s.grantDeadline(g)
	args := []any{"SET", s.grantKey(g.ID), data, "NX"}
	if deadline != 0 {
		args = append(args, "PXAT", deadline)
	}
	err = s.c.Do(ctx, args...).Err()
	if errors.Is(err, goredis.Nil) {
		return fmt.Errorf("redis: create grant: %w", apps.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("redis: create grant: %w", err)
	}
	score := g.CreatedAt.UnixMilli()
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		indexUntilScript.Eval(ctx, p, []string{s.grantsKey(g.Member)}, score, g.ID, deadline)
		indexUntilScript.Eval(ctx, p, []string{s.appGrantsKey(g.ClientID)}, score, g.ID, deadline)
		return nil
	})
	if err != nil {
		// Undo, so that a retry can succeed; if this fails too the grant
		// exists unlisted, which the retry reports as ErrAlreadyExists.
		s.c.Del(context.WithoutCancel(ctx), s.grantKey(g.ID))
		return fmt.Errorf("redis: create grant: index: %w", err)
	}
	return nil
}

// GetGrant returns the grant with that id, or apps.ErrNotFound (also once
// it is past its apps.Grant.KeepUntil by the store's clock, which Redis
// may not have dropped yet).
func (s *Store) GetGrant(ctx context.Context, id string) (apps.Grant, error) {
	g, err := getGrant(ctx, s.gets, id, s.grantKey(id))
	if err != nil {
		return apps.Grant{}, fmt.Errorf("redis: get grant: %w", err)
	}
	if !g.Kept(s.now(), s.retention) {
		return apps.Grant{}, fmt.Errorf("redis: get grant: %w", apps.ErrNotFound)
	}
	return g, nil
}

// ListGrants returns the member's grants, newest CreatedAt first (ties by
// id), revoked ones included, until they are forgotten (see CreateGrant).
// The result is never nil. Ids of grants that Redis has dropped are taken
// out of the member's index as they are found.
func (s *Store) ListGrants(ctx context.Context, member string) ([]apps.Grant, error) {
	index := s.grantsKey(member)
	grants, err := s.indexedGrants(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("redis: list grants: %w", err)
	}
	out := make([]apps.Grant, 0, len(grants))
	for _, g := range grants {
		if g.Member == member {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(x, y apps.Grant) int {
		if c := y.CreatedAt.Compare(x.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return out, nil
}

// indexedGrants reads the grants a sorted set lists, leaving out those the
// store no longer keeps. The ids whose key is gone are removed from the
// set (best effort: a failure only leaves them for the next read).
func (s *Store) indexedGrants(ctx context.Context, index string) ([]apps.Grant, error) {
	ids, err := s.c.ZRange(ctx, index, 0, -1).Result()
	if err != nil {
		return nil, err
	}
	// Grants live in different slots: a pipeline, which the cluster client
	// splits by node, rather than MGET.
	cmds := make([]*goredis.StringCmd, len(ids))
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.grantKey(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	now := s.now()
	out := make([]apps.Grant, 0, len(ids))
	var gone []any
	for i, cmd := range cmds {
		data, err := cmd.Bytes()
		if errors.Is(err, goredis.Nil) {
			gone = append(gone, ids[i])
			continue
		}
		var g apps.Grant
		if err == nil {
			g, err = decodeGrant(ids[i], data)
		}
		if err != nil {
			return nil, err
		}
		if g.Kept(now, s.retention) {
			out = append(out, g)
		}
	}
	if len(gone) > 0 {
		s.c.ZRem(context.WithoutCancel(ctx), index, gone...)
	}
	return out, nil
}

// maxTxAttempts bounds RevokeGrant's optimistic retries.
const maxTxAttempts = 10

// RevokeGrant marks the grant revoked at the given time, and moves its
// key's expiry to the retention after that (see CreateGrant). Revoking a
// revoked grant keeps the first revocation time and is not an error;
// apps.ErrNotFound if there is no such grant.
func (s *Store) RevokeGrant(ctx context.Context, id string, at time.Time) error {
	key := s.grantKey(id)
	revoke := func(tx *goredis.Tx) error {
		g, err := getGrant(ctx, tx, id, key)
		if err != nil {
			return err
		}
		if g.RevokedAt != nil {
			return nil
		}
		g.RevokedAt = &at
		data, err := encodeGrant(g)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			if deadline := s.grantDeadline(g); deadline != 0 {
				p.Do(ctx, "SET", key, data, "PXAT", deadline)
			} else {
				p.Set(ctx, key, data, goredis.KeepTTL)
			}
			return nil
		})
		return err
	}
	for range maxTxAttempts {
		err := s.c.Watch(ctx, revoke, key)
		if errors.Is(err, goredis.TxFailedErr) {
			continue
		}
		if err != nil {
			return fmt.Errorf("redis: revoke grant: %w", err)
		}
		return nil
	}
	return fmt.Errorf("redis: revoke grant: gave up after %d conflicting writes", maxTxAttempts)
}

// AppendEvent adds an audit event, bounded (apps.Event.Bounded), to the
// plan's stream without its ClientIP and, when it names a member, to that
// member's own stream with it; each drops the events older than the
// retention. The two appends go in one pipeline, not one transaction (the
// streams live in different Cluster slots), shared with concurrent callers
// (see batcher): if either fails the error is returned.
func (s *Store) AppendEvent(ctx context.Context, e apps.Event) error {
	enc, err := encodeEvents([]apps.Event{e})
	if err != nil {
		return fmt.Errorf("redis: append event: %w", err)
	}
	defer enc.release()
	cut := s.minID()
	err = s.batch.pipelined(ctx, func(p goredis.Pipeliner) {
		s.queueEvent(ctx, p, &enc.payloads[0], &cut, nil, nil)
	})
	if err != nil {
		return fmt.Errorf("redis: append event: %w", err)
	}
	return nil
}

// eventPayload is what AppendEvent stores of an event, bounded: the
// plan's copy, without the ClientIP, and, when it names a member, the
// member's own copy with it (own is nil otherwise).
type eventPayload struct {
	member    string
	plan, own payload
}

// payload is an event's JSON as a command's argument: go-redis writes a
// *payload by its MarshalBinary, so that passing one allocates nothing,
// where a []byte would be boxed anew for every append.
type payload []byte

// MarshalBinary implements encoding.BinaryMarshaler.
func (p *payload) MarshalBinary() ([]byte, error) { return *p, nil }

// encodedEvents are events encoded into one pooled buffer, with their
// payloads.
type encodedEvents struct {
	b        []byte
	payloads []eventPayload
	ends     [][2]int
}

// encodeEvents encodes events (appendEventJSON). The encoding and its
// payloads are pooled: call release once they have been sent.
func encodeEvents(events []apps.Event) (*encodedEvents, error) {
	enc := eventBuffers.Get().(*encodedEvents)
	b := enc.b[:0]
	enc.ends = enc.ends[:0]
	var err error
	for _, e := range events {
		e = e.Bounded()
		if b, err = appendEventJSON(b, e, false); err != nil {
			enc.b = b
			enc.release()
			return nil, err
		}
		plan := len(b)
		if e.Member != "" {
			b, _ = appendEventJSON(b, e, true) // the time passed above
		}
		enc.ends = append(enc.ends, [2]int{plan, len(b)})
	}
	enc.payloads = enc.payloads[:0]
	start := 0
	for i, end := range enc.ends {
		p := eventPayload{member: events[i].Member, plan: payload(b[start:end[0]:end[0]])}
		if end[1] > end[0] {
			p.own = payload(b[end[0]:end[1]:end[1]])
		}
		enc.payloads = append(enc.payloads, p)
		start = end[1]
	}
	enc.b = b
	return enc, nil
}

// release gives the encoding back; its payloads must not be used after.
func (enc *encodedEvents) release() {
	clear(enc.payloads)       // no member's name kept alive by the pool
	if cap(enc.b) <= 64<<10 { // keep no buffer a huge event grew
		eventBuffers.Put(enc)
	}
}

// eventAppend is one queued append of an event to a stream: the command
// answers the entry's id.
type eventAppend struct {
	stream string
	cmd    *goredis.StringCmd
}

// minID is the stream id (Unix ms) below which XADD MINID drops entries:
// now less the retention. See queueEvent for whose clock it is.
func (s *Store) minID() int64 { return time.Now().Add(-s.retention).UnixMilli() }

// queueEvent queues the appends of an event's payloads to the plan's
// stream and the member's, and adds them to out. Each append drops, in
// the same command, every entry older than the retention (XADD MINID cut,
// trimmed exactly; stream ids are Redis's time in milliseconds). The cut
// is taken by this process's wall clock (minID), not the injected one: it
// stands for Redis's, which a script would have to ask for (TIME), and a
// script costs Redis several times the XADD itself; a clock off by
// seconds moves the cut of a 90-day retention by as much. memberKey is
// the member's stream's key boxed (key), when the caller keeps it; nil
// makes it. e and cut must stay as they are until the pipeline is sent.
func (s *Store) queueEvent(ctx context.Context, p goredis.Pipeliner, e *eventPayload, cut *int64, memberKey any, out []eventAppend) []eventAppend {
	out = append(out, eventAppend{s.events, xadd(ctx, p, s.eventsArg, cut, &e.plan)})
	if e.own != nil {
		if memberKey == nil {
			memberKey = s.memberEventsKey(e.member)
		}
		out = append(out, eventAppend{memberKey.(string), xadd(ctx, p, memberKey, cut, &e.own)})
	}
	return out
}

// xadd queues XADD key MINID = cut * e payload, as go-redis's XAdd sends
// it, with the key as given (boxed once by the caller) and the cut and the
// payload by pointer: no argument boxed anew.
func xadd(ctx context.Context, p goredis.Pipeliner, key any, cut *int64, v *payload) *goredis.StringCmd {
	cmd := goredis.NewStringCmd(ctx, "xadd", key, "minid", "=", cut, "*", "e", v)
	_ = p.Process(ctx, cmd)
	return cmd
}

// memberEventsPage is how many of a member's events ListMemberEvents reads
// per round trip while it filters by app.
const memberEventsPage = 500

// ListMemberEvents returns up to limit of the member's events younger than
// the retention (of one app when clientID is not empty), newest first,
// with their ClientIP, reading the member's stream backwards a page at a
// time. The result is never nil.
func (s *Store) ListMemberEvents(ctx context.Context, member, clientID string, limit int) ([]apps.Event, error) {
	out := []apps.Event{}
	if member == "" || limit <= 0 {
		return out, nil
	}
	cut := s.now().Add(-s.retention)
	end := "+"
	for len(out) < limit {
		msgs, err := s.c.XRevRangeN(ctx, s.memberEventsKey(member), end, "-", memberEventsPage).Result()
		if err != nil {
			return nil, fmt.Errorf("redis: list member events: %w", err)
		}
		for _, m := range msgs {
			data, _ := m.Values["e"].(string)
			var e apps.Event
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				return nil, fmt.Errorf("redis: list member events: decode %s: %w", m.ID, err)
			}
			if (clientID == "" || e.ClientID == clientID) && e.Time.After(cut) && len(out) < limit {
				out = append(out, e)
			}
		}
		if len(msgs) < memberEventsPage {
			break
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
	return out, nil
}

// ListEvents returns up to limit events younger than the retention (judged
// by each event's Time and the store's clock), newest first. A limit of
// zero or less returns none. The result is never nil.
func (s *Store) ListEvents(ctx context.Context, limit int) ([]apps.Event, error) {
	if limit <= 0 {
		return []apps.Event{}, nil
	}
	msgs, err := s.c.XRevRangeN(ctx, s.eventsKey(), "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: list events: %w", err)
	}
	cut := s.now().Add(-s.retention)
	out := make([]apps.Event, 0, len(msgs))
	for _, m := range msgs {
		data, _ := m.Values["e"].(string)
		var e apps.Event
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return nil, fmt.Errorf("redis: list events: decode %s: %w", m.ID, err)
		}
		if e.Time.After(cut) {
			out = append(out, e)
		}
	}
	return out, nil
}

// getJSON decodes a JSON value into v. A missing key is ErrNotFound of the
// package that owns v's type, so callers can wrap it directly.
func (s *Store) getJSON(ctx context.Context, key string, v any) error {
	return getJSON(ctx, s.gets, key, v)
}

func getJSON(ctx context.Context, c getter, key string, v any) error {
	data, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return notFound(v)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
