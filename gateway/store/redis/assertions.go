package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/oauth"
)

func (s *Store) assertionKey(id string) string { return s.prefix + "jti:" + id }

// UseAssertion records a client assertion id until expiresAt with one
// SET NX PXAT: atomic, and Redis drops the key at expiresAt. The value is
// the expiry, so reads judge it by the injected clock too. An id whose
// expiry has already passed is not recorded (there is nothing to protect).
func (s *Store) UseAssertion(ctx context.Context, id string, expiresAt time.Time) error {
	if !s.now().Before(expiresAt) {
		return nil
	}
	ms := ceilMilli(expiresAt)
	err := s.c.Do(ctx, "SET", s.assertionKey(id), strconv.FormatInt(ms, 10), "NX", "PXAT", ms).Err()
	switch {
	case errors.Is(err, goredis.Nil): // NX: the id is already there
		return oauth.ErrUsed
	case err != nil:
		return fmt.Errorf("redis: use assertion: %w", err)
	}
	return nil
}

// AssertionUsed reports whether id is recorded and not expired.
func (s *Store) AssertionUsed(ctx context.Context, id string) (bool, error) {
	v, err := s.c.Get(ctx, s.assertionKey(id)).Result()
	if errors.Is(err, goredis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("redis: assertion used: %w", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	return err != nil || s.now().Before(time.UnixMilli(ms)), nil
}

// AssertionExpiry returns when Redis will drop a used assertion id.
// oauth.ErrNotFound if there is none.
func (s *Store) AssertionExpiry(ctx context.Context, id string) (time.Time, error) {
	ms, err := s.expireTime(ctx, s.assertionKey(id))
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: assertion expiry: %w", err)
	}
	return time.UnixMilli(ms).UTC(), nil
}
