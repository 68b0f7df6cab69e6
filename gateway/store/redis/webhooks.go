package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/gateway/webhook"
)

var _ webhook.Store = (*Store)(nil)

// claimScript hands out due deliveries: the due set's score is when each
// is next due, so a claim moves the score of what it takes to the end of
// the lease, and no other claim sees it until then. One key: the due set.
// KEYS: due set. ARGV: now (ms), lease end (ms), limit.
var claimScript = goredis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids`)

// CreateDelivery stores a new delivery and indexes it: due (when pending),
// by time, and by app. webhook.ErrAlreadyExists if the id is taken. The
// delivery's key expires the audit retention after it was created
// (deliveryDeadline), and each index lives at least as long as what it
// lists; index entries past the retention are trimmed on the way.
func (s *Store) CreateDelivery(ctx context.Context, d webhook.Delivery) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("redis: create delivery: %w", err)
	}
	deadline := s.deliveryDeadline(d.CreatedAt)
	err = s.c.Do(ctx, "SET", s.deliveryKey(d.ID), data, "NX", "PXAT", deadline).Err()
	if errors.Is(err, goredis.Nil) {
		return fmt.Errorf("redis: create delivery: %w", webhook.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("redis: create delivery: %w", err)
	}
	score := d.CreatedAt.UnixMilli()
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, key := range []string{s.deliveriesKey(""), s.deliveriesKey(d.ClientID)} {
			indexUntilScript.Eval(ctx, p, []string{key}, score, d.ID, deadline)
			s.trimDeliveries(ctx, p, key)
		}
		if d.Status == webhook.StatusPending {
			indexUntilScript.Eval(ctx, p, []string{s.dueKey()}, d.NextAttempt.UnixMilli(), d.ID, deadline)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: create delivery: index: %w", err)
	}
	return nil
}

// deliveryDeadline is when Redis drops a delivery made at created (Unix
// ms): the audit retention later. Its retries end long before (about 19
// hours with the dispatcher's defaults), and the admin list shows it as
// long as the audit trail shows the revocation it announced.
func (s *Store) deliveryDeadline(created time.Time) int64 {
	return ceilMilli(created.Add(s.retention))
}

// trimDeliveries queues the removal from a by-time index of the entries
// made before the retention (by the store's clock): their keys are gone or
// about to go.
func (s *Store) trimDeliveries(ctx context.Context, p goredis.Pipeliner, key string) {
	p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(s.now().Add(-s.retention).UnixMilli(), 10))
}

// ClaimDeliveries returns up to limit pending deliveries due at now and
// hides them from other claims until now+lease (one script: atomic).
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]webhook.Delivery, error) {
	if limit <= 0 {
		return []webhook.Delivery{}, nil
	}
	ids, err := claimScript.Run(ctx, s.c, []string{s.dueKey()}, now.UnixMilli(), now.Add(lease).UnixMilli(), limit).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: claim deliveries: %w", err)
	}
	out, gone, err := s.deliveries(ctx, ids, "claim deliveries")
	if err != nil {
		return nil, err
	}
	if len(gone) > 0 {
		// Past the retention: never due again. Best effort; a leftover id
		// is found gone at its next claim.
		members := make([]any, len(gone))
		for i, id := range gone {
			members[i] = id
		}
		s.c.ZRem(ctx, s.dueKey(), members...)
	}
	return out, nil
}

// UpdateDelivery replaces a delivery: due again at NextAttempt while
// pending, out of the due set otherwise. webhook.ErrNotFound if there is
// none, or it is past the retention by the store's clock.
func (s *Store) UpdateDelivery(ctx context.Context, d webhook.Delivery) error {
	if !s.now().Before(d.CreatedAt.Add(s.retention)) {
		s.c.ZRem(ctx, s.dueKey(), d.ID) // best effort, as in ClaimDeliveries
		return fmt.Errorf("redis: update delivery: %w", webhook.ErrNotFound)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("redis: update delivery: %w", err)
	}
	ok, err := s.c.SetXX(ctx, s.deliveryKey(d.ID), data, goredis.KeepTTL).Result()
	if err != nil {
		return fmt.Errorf("redis: update delivery: %w", err)
	}
	if !ok {
		return fmt.Errorf("redis: update delivery: %w", webhook.ErrNotFound)
	}
	if d.Status == webhook.StatusPending {
		err = s.c.ZAdd(ctx, s.dueKey(), goredis.Z{Score: float64(d.NextAttempt.UnixMilli()), Member: d.ID}).Err()
	} else {
		err = s.c.ZRem(ctx, s.dueKey(), d.ID).Err()
	}
	if err != nil {
		return fmt.Errorf("redis: update delivery: due set: %w", err)
	}
	return nil
}

// ListDeliveries returns up to limit deliveries, newest first (ties by
// id, descending), of one app when clientID is not empty. The result is never nil.
func (s *Store) ListDeliveries(ctx context.Context, clientID string, limit int) ([]webhook.Delivery, error) {
	if limit <= 0 {
		return []webhook.Delivery{}, nil
	}
	key := s.deliveriesKey(clientID)
	var idsCmd *goredis.StringSliceCmd
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		s.trimDeliveries(ctx, p, key)
		idsCmd = p.ZRevRange(ctx, key, 0, int64(limit-1))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis: list deliveries: %w", err)
	}
	out, _, err := s.deliveries(ctx, idsCmd.Val(), "list deliveries")
	return out, err
}

// deliveries reads deliveries by id, in order, skipping (and returning
// in gone) those that are gone or past the retention by the store's clock.
func (s *Store) deliveries(ctx context.Context, ids []string, what string) (out []webhook.Delivery, gone []string, err error) {
	cmds := make([]*goredis.StringCmd, len(ids))
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.deliveryKey(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	cut := s.now().Add(-s.retention)
	out = make([]webhook.Delivery, 0, len(ids))
	for i, cmd := range cmds {
		data, err := cmd.Bytes()
		if errors.Is(err, goredis.Nil) {
			gone = append(gone, ids[i])
			continue
		}
		var d webhook.Delivery
		if err == nil {
			err = json.Unmarshal(data, &d)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("redis: %s: %w", what, err)
		}
		if !d.CreatedAt.After(cut) {
			gone = append(gone, ids[i])
			continue
		}
		out = append(out, d)
	}
	return out, gone, nil
}
