package redis

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/patientaccess/gateway/oauth"
)

// PutMemberLink creates or replaces the member's Patient link.
func (s *Store) PutMemberLink(ctx context.Context, l oauth.MemberLink) error {
	data, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("redis: put member link: %w", err)
	}
	if err := s.c.Set(ctx, s.linkKey(l.Member), data, 0).Err(); err != nil {
		return fmt.Errorf("redis: put member link: %w", err)
	}
	return nil
}

// GetMemberLink returns the member's Patient link, or oauth.ErrNotFound.
func (s *Store) GetMemberLink(ctx context.Context, member string) (oauth.MemberLink, error) {
	var l oauth.MemberLink
	if err := s.getJSON(ctx, s.linkKey(member), &l); err != nil {
		return oauth.MemberLink{}, fmt.Errorf("redis: get member link: %w", err)
	}
	return l, nil
}

// DeleteMemberLink removes the member's Patient link.
func (s *Store) DeleteMemberLink(ctx context.Context, member string) error {
	if err := s.c.Del(ctx, s.linkKey(member)).Err(); err != nil {
		return fmt.Errorf("redis: delete member link: %w", err)
	}
	return nil
}
