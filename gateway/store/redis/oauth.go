package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// notFound is the not-found error for the type being read.
func notFound(v any) error {
	switch v.(type) {
	case *apps.App, *apps.Grant, *apps.Checks, *apps.PolicyWatch:
		return apps.ErrNotFound
	}
	return oauth.ErrNotFound
}

// PutMember creates or replaces the member.
func (s *Store) PutMember(ctx context.Context, m oauth.Member) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("redis: put member: %w", err)
	}
	if err := s.c.Set(ctx, s.memberKey(m.Username), data, 0).Err(); err != nil {
		return fmt.Errorf("redis: put member: %w", err)
	}
	return nil
}

// GetMember returns the member with that username, or oauth.ErrNotFound.
func (s *Store) GetMember(ctx context.Context, username string) (oauth.Member, error) {
	var m oauth.Member
	if err := s.getJSON(ctx, s.memberKey(username), &m); err != nil {
		return oauth.Member{}, fmt.Errorf("redis: get member: %w", err)
	}
	return m, nil
}

// PutSession stores a session; Redis drops it at its ExpiresAt.
func (s *Store) PutSession(ctx context.Context, sess oauth.LoginSession) error {
	data, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("redis: put session: %w", err)
	}
	err = s.c.Do(ctx, "SET", s.sessionKey(sess.ID), data, "PXAT", ceilMilli(sess.ExpiresAt)).Err()
	if err != nil {
		return fmt.Errorf("redis: put session: %w", err)
	}
	return nil
}

// GetSession returns the session, or oauth.ErrNotFound if it is absent or
// expired.
func (s *Store) GetSession(ctx context.Context, id string) (oauth.LoginSession, error) {
	var sess oauth.LoginSession
	if err := s.getJSON(ctx, s.sessionKey(id), &sess); err != nil {
		return oauth.LoginSession{}, fmt.Errorf("redis: get session: %w", err)
	}
	if !s.now().Before(sess.ExpiresAt) {
		return oauth.LoginSession{}, fmt.Errorf("redis: get session: %w", oauth.ErrNotFound)
	}
	return sess, nil
}

// DeleteSession ends a session; deleting a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.c.Del(ctx, s.sessionKey(id)).Err(); err != nil {
		return fmt.Errorf("redis: delete session: %w", err)
	}
	return nil
}

// SessionExpiry returns when Redis will drop the session.
// oauth.ErrNotFound if there is none.
func (s *Store) SessionExpiry(ctx context.Context, id string) (time.Time, error) {
	ms, err := s.expireTime(ctx, s.sessionKey(id))
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: session expiry: %w", err)
	}
	return time.UnixMilli(ms).UTC(), nil
}
