package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/patientaccess/gateway/oauth"
)

// rateKey is the limiter key of an oauth key; redis_rate puts its own
// "rate:" in front, so the full key is rate:<prefix>throttle:<key>.
func (s *Store) rateKey(key string) string { return s.prefix + "throttle:" + key }

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
