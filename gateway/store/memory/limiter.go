package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// Allow implements oauth.Limiter with the generic cell rate algorithm, the
// same arithmetic as the Redis backend's limiter: each key keeps its
// theoretical arrival time (TAT); an event is allowed when TAT+Every
// is no later than now+Burst×Every, and then moves TAT on by Every.
func (s *Store) Allow(_ context.Context, key string, l oauth.Limit) (time.Duration, error) {
	return s.take(key, l, true)
}

// Peek implements oauth.Limiter: Allow's answer, taking nothing.
func (s *Store) Peek(_ context.Context, key string, l oauth.Limit) (time.Duration, error) {
	return s.take(key, l, false)
}

func (s *Store) take(key string, l oauth.Limit, consume bool) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.takeLocked(key, l, consume)
}

// gate judges g (see oauth.Gate) under the lock: it peeks at g.Hold and,
// if it may have an event, takes one of g.Take.
func (s *Store) gate(g oauth.Gate) (oauth.Gated, error) {
	hold, err := s.takeLocked(g.Hold, g.HoldLimit, false)
	if err != nil || hold > 0 {
		return oauth.Gated{Judged: err == nil, Hold: hold}, err
	}
	take, err := s.takeLocked(g.Take, g.TakeLimit, true)
	return oauth.Gated{Judged: err == nil, Take: take}, err
}

// takeLocked is take under the lock.
func (s *Store) takeLocked(key string, l oauth.Limit, consume bool) (time.Duration, error) {
	if l.Burst < 1 || l.Every <= 0 {
		return 0, fmt.Errorf("memory: limit %+v: want a burst of at least 1 and a positive period", l)
	}
	now := s.now()
	tat := s.rates[key]
	if tat.Before(now) {
		tat = now
	}
	allowAt := tat.Add(l.Every - time.Duration(l.Burst)*l.Every)
	if allowAt.After(now) {
		return allowAt.Sub(now), nil
	}
	if consume {
		s.rates[key] = tat.Add(l.Every)
		s.wrote()
	}
	return 0, nil
}
