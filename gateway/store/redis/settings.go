package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ErrEviction is returned by CheckSettings when Redis may evict keys.
var ErrEviction = errors.New("redis: maxmemory-policy must be noeviction")

// ErrDataLost is returned by CheckData when the store's marker key is
// gone: Redis lost the data the gateway wrote (a restart without
// persistence, a FLUSHALL, a failover to an empty replica).
var ErrDataLost = errors.New("redis: the store lost its data (its marker key is gone)")

// CheckSettings reads the settings the gateway relies on (CONFIG GET, on
// every master of a cluster) and returns an error wrapping ErrEviction if
// Redis may evict keys, and warnings for what it could not check or for
// a Redis that persists nothing.
//
// Every policy but noeviction is refused: allkeys-* would evict apps,
// members and grants, and volatile-* evicts exactly the keys with a TTL,
// which here are tokens, codes, sessions and the rotated refresh tokens
// and used codes kept for reuse detection: a valid token would be refused,
// or a replayed code or refresh token no longer recognised. With
// noeviction a full Redis refuses writes, which the gateway answers 503.
func (s *Store) CheckSettings(ctx context.Context) (warnings []string, err error) {
	check := func(ctx context.Context, c goredis.Cmdable) error {
		w, err := checkNode(ctx, c)
		warnings = append(warnings, w...)
		return err
	}
	if cc, ok := s.c.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error { return check(ctx, n) })
	} else {
		err = check(ctx, s.c)
	}
	return warnings, err
}

// checkNode checks one node's eviction policy and persistence.
func checkNode(ctx context.Context, c goredis.Cmdable) ([]string, error) {
	cfg, err := c.ConfigGet(ctx, "*").Result()
	var reply goredis.Error
	switch {
	case errors.As(err, &reply): // CONFIG refused, as managed Redis services do
		return []string{"could not read Redis's settings (" + err.Error() + "): make sure maxmemory-policy is noeviction and persistence (AOF) is on"}, nil
	case err != nil:
		return nil, fmt.Errorf("redis: read settings: %w", err)
	}
	if p := cfg["maxmemory-policy"]; p != "" && p != "noeviction" {
		return nil, fmt.Errorf("%w, not %s: evicted keys are lost grants, refused valid tokens and undetected token reuse", ErrEviction, p)
	}
	if cfg["appendonly"] != "yes" && strings.TrimSpace(cfg["save"]) == "" {
		return []string{"Redis persists nothing (appendonly no, no save points): a Redis restart loses every member, app, grant and token; turn on AOF (appendonly yes)"}, nil
	}
	return nil, nil
}

// markerKey names the key that proves the store still holds what the
// gateway wrote: it is written once, never expires, and is gone only if
// Redis lost its data.
func (s *Store) markerKey() string { return s.prefix + "marker" }

// EnsureMarker writes the store's marker if it is absent and reports
// whether it did, which happens at the first start on a Redis (or on one
// that lost its data before this start).
func (s *Store) EnsureMarker(ctx context.Context) (created bool, err error) {
	created, err = s.c.SetNX(ctx, s.markerKey(), s.now().UTC().Format(time.RFC3339), 0).Result()
	if err != nil {
		return false, fmt.Errorf("redis: write marker: %w", err)
	}
	return created, nil
}

// CheckData returns ErrDataLost if the marker key EnsureMarker wrote is
// gone, or the error that kept it from checking.
func (s *Store) CheckData(ctx context.Context) error {
	n, err := s.c.Exists(ctx, s.markerKey()).Result()
	if err != nil {
		return fmt.Errorf("redis: check marker: %w", err)
	}
	if n == 0 {
		return ErrDataLost
	}
	return nil
}
