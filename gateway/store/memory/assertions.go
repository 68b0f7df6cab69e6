package memory

import (
	"context"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// assertionSweepEvery is how many recorded assertions pass between two
// sweeps of expired ones.
const assertionSweepEvery = 1024

// UseAssertion records a client assertion id until expiresAt; oauth.ErrUsed
// if it is recorded and not expired.
func (s *Store) UseAssertion(_ context.Context, id string, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if exp, ok := s.assertions[id]; ok && now.Before(exp) {
		return oauth.ErrUsed
	}
	if s.assertions == nil {
		s.assertions = map[string]time.Time{}
	}
	s.assertions[id] = expiresAt
	if len(s.assertions)%assertionSweepEvery == 0 {
		for k, exp := range s.assertions {
			if !now.Before(exp) {
				delete(s.assertions, k)
			}
		}
	}
	return nil
}

// AssertionUsed reports whether id is recorded and not expired.
func (s *Store) AssertionUsed(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.assertions[id]
	return ok && s.now().Before(exp), nil
}
