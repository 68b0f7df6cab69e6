package memory

import (
	"context"
	"fmt"

	"github.com/patientaccess/gateway/gateway/devaccount"
)

var _ devaccount.Store = (*Store)(nil)

// CreateDeveloper stores a new developer account, or devaccount.ErrExists.
func (s *Store) CreateDeveloper(_ context.Context, a devaccount.Account) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.developers[a.Email]; ok {
		return fmt.Errorf("memory: create developer: %w", devaccount.ErrExists)
	}
	s.developers[a.Email] = a
	return nil
}

// GetDeveloper returns the account of an email address, or devaccount.ErrNotFound.
func (s *Store) GetDeveloper(_ context.Context, email string) (devaccount.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.developers[email]
	if !ok {
		return devaccount.Account{}, fmt.Errorf("memory: get developer: %w", devaccount.ErrNotFound)
	}
	return a, nil
}
