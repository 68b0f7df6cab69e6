package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
)

// AppendHistory adds an entry to the list of every app's history and to
// its app's own list, in one MULTI/EXEC (both keys carry the {apps} tag).
func (s *Store) AppendHistory(ctx context.Context, e apps.HistoryEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("redis: append history: %w", err)
	}
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.RPush(ctx, s.historyKey(""), data)
		p.RPush(ctx, s.historyKey(e.ClientID), data)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: append history: %w", err)
	}
	return nil
}

// ListHistory returns the app's history (every app's with an empty
// clientID), oldest first. The result is never nil.
func (s *Store) ListHistory(ctx context.Context, clientID string) ([]apps.HistoryEntry, error) {
	vals, err := s.c.LRange(ctx, s.historyKey(clientID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: list history: %w", err)
	}
	out := make([]apps.HistoryEntry, 0, len(vals))
	for _, v := range vals {
		var e apps.HistoryEntry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, fmt.Errorf("redis: list history: decode: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// PutChecks stores an app's latest check results, replacing any.
func (s *Store) PutChecks(ctx context.Context, c apps.Checks) error {
	return s.putJSON(ctx, "put checks", s.checksKey(c.ClientID), c)
}

// GetChecks returns an app's latest check results, or apps.ErrNotFound.
func (s *Store) GetChecks(ctx context.Context, clientID string) (apps.Checks, error) {
	var c apps.Checks
	if err := s.getJSON(ctx, s.checksKey(clientID), &c); err != nil {
		return apps.Checks{}, fmt.Errorf("redis: get checks: %w", err)
	}
	return c, nil
}

// PutPolicyWatch stores what the policy watch saw of an app, replacing any.
func (s *Store) PutPolicyWatch(ctx context.Context, w apps.PolicyWatch) error {
	return s.putJSON(ctx, "put policy watch", s.watchKey(w.ClientID), w)
}

// GetPolicyWatch returns what the policy watch saw of an app, or
// apps.ErrNotFound.
func (s *Store) GetPolicyWatch(ctx context.Context, clientID string) (apps.PolicyWatch, error) {
	var w apps.PolicyWatch
	if err := s.getJSON(ctx, s.watchKey(clientID), &w); err != nil {
		return apps.PolicyWatch{}, fmt.Errorf("redis: get policy watch: %w", err)
	}
	return w, nil
}

func (s *Store) putJSON(ctx context.Context, what, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", what, err)
	}
	if err := s.c.Set(ctx, key, data, 0).Err(); err != nil {
		return fmt.Errorf("redis: %s: %w", what, err)
	}
	return nil
}

// noteCallScript keeps the later of the stored time and ARGV[1] (Unix ms).
var noteCallScript = goredis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`)

// NoteAppCall keeps the latest time the app called the API.
func (s *Store) NoteAppCall(ctx context.Context, clientID string, at time.Time) error {
	if err := noteCallScript.Run(ctx, s.c, []string{s.lastCallKey(clientID)}, at.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("redis: note app call: %w", err)
	}
	return nil
}

// AppUsage counts the members with a live grant for the app at now (over
// the grants indexed under the app) and returns its last call.
func (s *Store) AppUsage(ctx context.Context, clientID string, now time.Time) (apps.Usage, error) {
	var u apps.Usage
	ms, err := s.c.Get(ctx, s.lastCallKey(clientID)).Int64()
	switch {
	case errors.Is(err, goredis.Nil):
	case err != nil:
		return apps.Usage{}, fmt.Errorf("redis: app usage: %w", err)
	default:
		u.LastCall = time.UnixMilli(ms).UTC()
	}
	grants, err := s.indexedGrants(ctx, s.appGrantsKey(clientID))
	if err != nil {
		return apps.Usage{}, fmt.Errorf("redis: app usage: %w", err)
	}
	members := map[string]bool{}
	for _, g := range grants {
		if g.ClientID == clientID && g.Live(now) {
			members[g.Member] = true
		}
	}
	u.LiveMembers = len(members)
	return u, nil
}
