package memory

import (
	"context"
	"fmt"

	"github.com/patientaccess/gateway/oauth"
)

// PutMemberLink creates or replaces the member's Patient link.
func (s *Store) PutMemberLink(_ context.Context, l oauth.MemberLink) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.links[l.Member] = l
	s.wrote()
	return nil
}

// GetMemberLink returns the member's Patient link, or oauth.ErrNotFound.
func (s *Store) GetMemberLink(_ context.Context, member string) (oauth.MemberLink, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[member]
	if !ok {
		return oauth.MemberLink{}, fmt.Errorf("get member link: %w", oauth.ErrNotFound)
	}
	return l, nil
}

// DeleteMemberLink removes the member's Patient link.
func (s *Store) DeleteMemberLink(_ context.Context, member string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.links, member)
	s.wrote()
	return nil
}
