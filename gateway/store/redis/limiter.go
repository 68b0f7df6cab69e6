package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/oauth"
)

// rateKey is the limiter key of an oauth key, KIND:SUBJECT (see
// oauth.Limiter); redis_rate puts its own "rate:" in front, so the full
// key is rate:<prefix>throttle:<kind>:{<subject>}. The subject is the
// key's Cluster hash tag: a subject's keys of every kind share a slot, so
// that one script judges a gate's two (gateScript). A key without a kind
// is all subject.
func (s *Store) rateKey(key string) string {
	kind, subject, ok := strings.Cut(key, ":")
	if !ok {
		return s.prefix + "throttle:{" + key + "}"
	}
	return s.prefix + "throttle:" + kind + ":{" + subject + "}"
}

// rateLimit is an oauth.Limit in redis_rate's terms: one event per Every,
// Burst at once.
func rateLimit(l oauth.Limit) (redis_rate.Limit, error) {
	if l.Burst < 1 || l.Every <= 0 {
		return redis_rate.Limit{}, fmt.Errorf("redis: limit %+v: want a burst of at least 1 and a positive period", l)
	}
	return redis_rate.Limit{Rate: 1, Burst: l.Burst, Period: l.Every}, nil
}

// Allow implements oauth.Limiter with redis_rate's GCRA script: one Lua
// call on one key, so concurrent replicas never both take the last event.
// The script reads Redis's own clock (TIME), not the injected one.
func (s *Store) Allow(ctx context.Context, key string, l oauth.Limit) (time.Duration, error) {
	limit, err := rateLimit(l)
	if err != nil {
		return 0, err
	}
	res, err := s.rate.Allow(ctx, s.rateKey(key), limit)
	if err != nil {
		return 0, fmt.Errorf("redis: limiter: %w", err)
	}
	if res.Allowed > 0 {
		return 0, nil
	}
	return max(res.RetryAfter, time.Nanosecond), nil
}

// Peek implements oauth.Limiter: redis_rate's AllowAtMost with no events,
// which answers when one would be allowed without taking it.
func (s *Store) Peek(ctx context.Context, key string, l oauth.Limit) (time.Duration, error) {
	limit, err := rateLimit(l)
	if err != nil {
		return 0, err
	}
	res, err := s.rate.AllowAtMost(ctx, s.rateKey(key), limit, 0)
	if err != nil {
		return 0, fmt.Errorf("redis: limiter: %w", err)
	}
	if res.RetryAfter > 0 {
		return res.RetryAfter, nil
	}
	return 0, nil
}

// gateScript judges an oauth.Gate: KEYS are the held key and the taken
// one, ARGV the held limit's burst and period in seconds, then the taken
// one's. It looks at the held key as Peek does and, if that may have an
// event, takes one of the taken key as Allow does, with redis_rate's
// arithmetic and state (a GCRA time in seconds since 2017 by Redis's
// clock, kept until the key is back to a full burst), so that Peek, Allow
// and it share their keys. Its answer: {0, ""} when the event was taken,
// {1, wait} when the held key may have none, {2, wait} when the taken
// one's event was refused, the wait in seconds as text. Nothing is written
// unless the event is taken.
var gateScript = goredis.NewScript(`
local t = redis.call("TIME")
local now = (t[1] - 1483228800) + (t[2] / 1000000)
local function tat(key)
  local v = redis.call("GET", key)
  if not v then return now end
  return math.max(tonumber(v), now)
end

local every = tonumber(ARGV[2])
local diff = now - (tat(KEYS[1]) - every * tonumber(ARGV[1]))
if diff / every < 1 then
  return {1, tostring(every - diff)}
end

every = tonumber(ARGV[4])
local new_tat = tat(KEYS[2]) + every
diff = now - (new_tat - every * tonumber(ARGV[3]))
if diff < 0 then
  return {2, tostring(-diff)}
end
local reset_after = new_tat - now
if reset_after > 0 then
  redis.call("SET", KEYS[2], new_tat, "EX", math.ceil(reset_after))
end
return {0, ""}
`)

// pendingGate is a gate queued in a pipeline.
type pendingGate struct {
	*gateCall
	cmd *goredis.Cmd // nil until queued
}

// gateCall is gateScript's keys and arguments for one gate.
type gateCall struct {
	keys []string
	args []any
}

// newGate returns g ready to queue, or an error for an invalid limit.
func (s *Store) newGate(g oauth.Gate) (*pendingGate, error) {
	if call, ok := s.gates.get(g); ok {
		return &pendingGate{gateCall: call}, nil
	}
	for _, l := range []oauth.Limit{g.HoldLimit, g.TakeLimit} {
		if _, err := rateLimit(l); err != nil {
			return nil, err
		}
	}
	call := &gateCall{
		keys: []string{"rate:" + s.rateKey(g.Hold), "rate:" + s.rateKey(g.Take)},
		args: []any{g.HoldLimit.Burst, g.HoldLimit.Every.Seconds(), g.TakeLimit.Burst, g.TakeLimit.Every.Seconds()},
	}
	s.gates.put(g, call)
	return &pendingGate{gateCall: call}, nil
}

// gateArgsSize bounds the gates whose script arguments are kept
// (Store.gates): a client's next gate does not build its keys and
// arguments again (they never change for a gate; the slices are only
// read).
const gateArgsSize = 1024

// queue adds the gate's script to p, by its SHA (see judged).
func (g *pendingGate) queue(ctx context.Context, p goredis.Pipeliner) {
	g.cmd = gateScript.EvalSha(ctx, p, g.keys, g.args...)
}

// judged returns what the queued gate found. Redis that does not know
// the script (restarted, flushed, failed over) answers NOSCRIPT, and the
// script is then run again on its own, which loads it. A gate never sent
// (its round trip failed) or without its answer is not judged.
func (s *Store) judged(ctx context.Context, g *pendingGate) (oauth.Gated, error) {
	if g.cmd == nil {
		return oauth.Gated{}, errors.New("redis: gate: not sent")
	}
	res, err := g.cmd.Slice()
	if goredis.HasErrorPrefix(err, "NOSCRIPT") {
		res, err = gateScript.Run(ctx, s.c, g.keys, g.args...).Slice()
	}
	if err != nil {
		return oauth.Gated{}, fmt.Errorf("redis: gate: %w", err)
	}
	if len(res) != 2 {
		return oauth.Gated{}, fmt.Errorf("redis: gate: unexpected answer %v", res)
	}
	code, _ := res[0].(int64)
	wait, _ := res[1].(string)
	if code < 0 || code > 2 {
		return oauth.Gated{}, fmt.Errorf("redis: gate: unexpected answer %v", res)
	}
	gated := oauth.Gated{Judged: true}
	if code == 0 {
		return gated, nil
	}
	secs, err := strconv.ParseFloat(wait, 64)
	if err != nil {
		return oauth.Gated{}, fmt.Errorf("redis: gate: wait %q: %w", wait, err)
	}
	d := max(time.Duration(secs*float64(time.Second)), time.Nanosecond)
	if code == 1 {
		gated.Hold = d
	} else {
		gated.Take = d
	}
	return gated, nil
}
