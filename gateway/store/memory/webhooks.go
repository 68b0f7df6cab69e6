package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/patientaccess/gateway/gateway/webhook"
)

var _ webhook.Store = (*Store)(nil)

// CreateDelivery stores a new delivery; webhook.ErrAlreadyExists if the id
// is taken. A delivery is kept the audit retention after it was created
// (deliveryKept), then forgotten: not claimed, not listed, not updated
// (and dropped at the next sweep).
func (s *Store) CreateDelivery(_ context.Context, d webhook.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.deliveries[d.ID]; ok {
		return fmt.Errorf("create delivery: %w", webhook.ErrAlreadyExists)
	}
	s.deliveries[d.ID] = d
	s.wrote()
	return nil
}

// ClaimDeliveries returns up to limit pending deliveries due at now, the
// longest waiting first, and hides them from other claims until now+lease.
func (s *Store) ClaimDeliveries(_ context.Context, now time.Time, lease time.Duration, limit int) ([]webhook.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []webhook.Delivery
	for _, d := range s.deliveries {
		if d.Status == webhook.StatusPending && !d.NextAttempt.After(now) && !s.leases[d.ID].After(now) && s.deliveryKept(d) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b webhook.Delivery) int {
		if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	due = due[:min(max(limit, 0), len(due))]
	for _, d := range due {
		s.leases[d.ID] = now.Add(lease)
	}
	return due, nil
}

// UpdateDelivery replaces a delivery and ends its lease; webhook.ErrNotFound
// if there is none.
func (s *Store) UpdateDelivery(_ context.Context, d webhook.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.deliveries[d.ID]; !ok || !s.deliveryKept(old) {
		return fmt.Errorf("update delivery: %w", webhook.ErrNotFound)
	}
	s.deliveries[d.ID] = d
	delete(s.leases, d.ID)
	s.wrote()
	return nil
}

// ListDeliveries returns up to limit deliveries, newest first (ties by
// id, descending), of one app when clientID is not empty. The result is
// never nil.
func (s *Store) ListDeliveries(_ context.Context, clientID string, limit int) ([]webhook.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []webhook.Delivery{}
	for _, d := range s.deliveries {
		if (clientID == "" || d.ClientID == clientID) && s.deliveryKept(d) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b webhook.Delivery) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out[:min(max(limit, 0), len(out))], nil
}

// deliveryKept reports whether a delivery is younger than the audit
// retention by the store's clock. The caller holds s.mu.
func (s *Store) deliveryKept(d webhook.Delivery) bool {
	return s.now().Before(d.CreatedAt.Add(s.retention))
}
