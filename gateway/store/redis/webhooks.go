package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// by time, and by app. webhook.ErrAlreadyExists if the id is taken.
func (s *Store) CreateDelivery(ctx context.Context, d webhook.Delivery) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("redis: create delivery: %w", err)
	}
	ok, err := s.c.SetNX(ctx, s.deliveryKey(d.ID), data, 0).Result()
	if err != nil {
		return fmt.Errorf("redis: create delivery: %w", err)
	}
	if !ok {
		return fmt.Errorf("redis: create delivery: %w", webhook.ErrAlreadyExists)
	}
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		created := goredis.Z{Score: float64(d.CreatedAt.UnixMilli()), Member: d.ID}
		p.ZAdd(ctx, s.deliveriesKey(""), created)
		p.ZAdd(ctx, s.deliveriesKey(d.ClientID), created)
		if d.Status == webhook.StatusPending {
			p.ZAdd(ctx, s.dueKey(), goredis.Z{Score: float64(d.NextAttempt.UnixMilli()), Member: d.ID})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: create delivery: index: %w", err)
	}
	return nil
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
	return s.deliveries(ctx, ids, "claim deliveries")
}

// UpdateDelivery replaces a delivery: due again at NextAttempt while
// pending, out of the due set otherwise. webhook.ErrNotFound if there is
// none.
func (s *Store) UpdateDelivery(ctx context.Context, d webhook.Delivery) error {
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
	ids, err := s.c.ZRevRange(ctx, s.deliveriesKey(clientID), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: list deliveries: %w", err)
	}
	return s.deliveries(ctx, ids, "list deliveries")
}

// deliveries reads deliveries by id, in order, skipping any that is gone.
func (s *Store) deliveries(ctx context.Context, ids []string, what string) ([]webhook.Delivery, error) {
	cmds := make([]*goredis.StringCmd, len(ids))
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.deliveryKey(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis: %s: %w", what, err)
	}
	out := make([]webhook.Delivery, 0, len(ids))
	for _, cmd := range cmds {
		data, err := cmd.Bytes()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		var d webhook.Delivery
		if err == nil {
			err = json.Unmarshal(data, &d)
		}
		if err != nil {
			return nil, fmt.Errorf("redis: %s: %w", what, err)
		}
		out = append(out, d)
	}
	return out, nil
}
