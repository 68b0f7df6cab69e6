package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// AppendHistory adds an entry to its app's history.
func (s *Store) AppendHistory(_ context.Context, e apps.HistoryEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Criteria = slices.Clone(e.Criteria)
	s.history = append(s.history, e)
	s.wrote()
	return nil
}

// ListHistory returns the app's history (every app's with an empty
// clientID), oldest first. The result is never nil.
func (s *Store) ListHistory(_ context.Context, clientID string) ([]apps.HistoryEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []apps.HistoryEntry{}
	for _, e := range s.history {
		if clientID == "" || e.ClientID == clientID {
			e.Criteria = slices.Clone(e.Criteria)
			out = append(out, e)
		}
	}
	return out, nil
}

// PutChecks stores an app's latest check results, replacing any.
func (s *Store) PutChecks(_ context.Context, c apps.Checks) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[c.ClientID] = copyChecks(c)
	s.wrote()
	return nil
}

// GetChecks returns an app's latest check results, or apps.ErrNotFound.
func (s *Store) GetChecks(_ context.Context, clientID string) (apps.Checks, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.checks[clientID]
	if !ok {
		return apps.Checks{}, fmt.Errorf("get checks: %w", apps.ErrNotFound)
	}
	return copyChecks(c), nil
}

func copyChecks(c apps.Checks) apps.Checks {
	c.Results = slices.Clone(c.Results)
	for i := range c.Results {
		c.Results[i].Problems = slices.Clone(c.Results[i].Problems)
	}
	return c
}

// PutPolicyWatch stores what the policy watch saw of an app, replacing any.
func (s *Store) PutPolicyWatch(_ context.Context, w apps.PolicyWatch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Pages = slices.Clone(w.Pages)
	s.watches[w.ClientID] = w
	s.wrote()
	return nil
}

// GetPolicyWatch returns what the policy watch saw of an app, or
// apps.ErrNotFound.
func (s *Store) GetPolicyWatch(_ context.Context, clientID string) (apps.PolicyWatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.watches[clientID]
	if !ok {
		return apps.PolicyWatch{}, fmt.Errorf("get policy watch: %w", apps.ErrNotFound)
	}
	w.Pages = slices.Clone(w.Pages)
	return w, nil
}

// NoteAppCall keeps the latest time the app called the API.
func (s *Store) NoteAppCall(_ context.Context, clientID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at.After(s.lastCall[clientID]) {
		s.lastCall[clientID] = at
		s.wrote()
	}
	return nil
}

// AppUsage counts the members with a live grant for the app at now and
// returns its last call.
func (s *Store) AppUsage(_ context.Context, clientID string, now time.Time) (apps.Usage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	members := map[string]bool{}
	for _, g := range s.grants {
		if g.ClientID == clientID && g.Live(now) {
			members[g.Member] = true
		}
	}
	return apps.Usage{LiveMembers: len(members), LastCall: s.lastCall[clientID]}, nil
}
