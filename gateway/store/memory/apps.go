package memory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// CreateApp stores a new app; apps.ErrAlreadyExists if the client id is taken.
func (s *Store) CreateApp(_ context.Context, a apps.App) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[a.ClientID]; ok {
		return fmt.Errorf("create app: %w", apps.ErrAlreadyExists)
	}
	s.apps[a.ClientID] = copyApp(a)
	s.appsVersion++
	s.wrote()
	return nil
}

// AppsVersion returns the number of changes made to apps so far: it moves
// whenever an app is created or changed.
func (s *Store) AppsVersion(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appsVersion, nil
}

// GetApp returns the app with that client id, or apps.ErrNotFound.
func (s *Store) GetApp(_ context.Context, clientID string) (apps.App, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[clientID]
	if !ok {
		return apps.App{}, fmt.Errorf("get app: %w", apps.ErrNotFound)
	}
	return copyApp(a), nil
}

// UpdateApp changes an app under the store's lock, so no other change can
// come between the read and the write; apps.ErrNotFound if there is none.
func (s *Store) UpdateApp(_ context.Context, clientID string, change func(apps.App) (apps.App, error)) (apps.App, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.apps[clientID]
	if !ok {
		return apps.App{}, fmt.Errorf("update app: %w", apps.ErrNotFound)
	}
	next, err := change(copyApp(cur))
	if err != nil {
		return apps.App{}, fmt.Errorf("update app: %w", err)
	}
	if next.ClientID != clientID {
		return apps.App{}, fmt.Errorf("update app: the client id cannot change (%q to %q)", clientID, next.ClientID)
	}
	s.apps[clientID] = copyApp(next)
	s.appsVersion++
	s.wrote()
	return copyApp(next), nil
}

// ListApps returns every app, oldest CreatedAt first (ties by client id).
// The result is never nil.
func (s *Store) ListApps(_ context.Context) ([]apps.App, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]apps.App, 0, len(s.apps))
	for _, a := range s.apps {
		out = append(out, copyApp(a))
	}
	slices.SortFunc(out, func(x, y apps.App) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(x.ClientID, y.ClientID)
	})
	return out, nil
}

// PutAppLogo stores an app's logo, replacing any.
func (s *Store) PutAppLogo(_ context.Context, clientID string, png []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logos[clientID] = slices.Clone(png)
	s.wrote()
	return nil
}

// GetAppLogo returns the app's logo, or apps.ErrNotFound.
func (s *Store) GetAppLogo(_ context.Context, clientID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.logos[clientID]
	if !ok {
		return nil, fmt.Errorf("get app logo: %w", apps.ErrNotFound)
	}
	return slices.Clone(l), nil
}

// CreateGrant stores a new grant; apps.ErrAlreadyExists if the id is taken.
func (s *Store) CreateGrant(_ context.Context, g apps.Grant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.grants[g.ID]; ok {
		return fmt.Errorf("create grant: %w", apps.ErrAlreadyExists)
	}
	s.grants[g.ID] = copyGrant(g)
	s.byMember[g.Member] = append(s.byMember[g.Member], g.ID)
	s.wrote()
	return nil
}

// GetGrant returns the grant with that id, or apps.ErrNotFound (also once
// it is past its apps.Grant.KeepUntil: the audit retention after its end).
func (s *Store) GetGrant(_ context.Context, id string) (apps.Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[id]
	if !ok || !g.Kept(s.now(), s.retention) {
		return apps.Grant{}, fmt.Errorf("get grant: %w", apps.ErrNotFound)
	}
	return copyGrant(g), nil
}

// ListGrants returns the member's grants, newest CreatedAt first (ties by
// id), revoked ones included until they are forgotten (see GetGrant). The result is never nil.
func (s *Store) ListGrants(_ context.Context, member string) ([]apps.Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.byMember[member]
	out := make([]apps.Grant, 0, len(ids))
	now := s.now()
	for _, id := range ids {
		if g, ok := s.grants[id]; ok && g.Kept(now, s.retention) {
			out = append(out, copyGrant(g))
		}
	}
	slices.SortFunc(out, func(x, y apps.Grant) int {
		if c := y.CreatedAt.Compare(x.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return out, nil
}

// RevokeGrant marks the grant revoked at the given time. Revoking a revoked
// grant keeps the first revocation time and is not an error;
// apps.ErrNotFound if there is no such grant.
func (s *Store) RevokeGrant(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[id]
	if !ok {
		return fmt.Errorf("revoke grant: %w", apps.ErrNotFound)
	}
	if g.RevokedAt == nil {
		g.RevokedAt = &at
		s.grants[id] = g
		s.wrote()
	}
	return nil
}

// AppendEvent adds an audit event, bounded (apps.Event.Bounded), and drops
// the events older than the retention.
func (s *Store) AppendEvent(_ context.Context, e apps.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendEvent(e)
	return nil
}

// appendEvent appends under the lock and returns the event's seq.
func (s *Store) appendEvent(e apps.Event) uint64 {
	seq := s.events.append(e.Bounded())
	s.events.dropExpired(s.now().Add(-s.retention))
	s.wrote()
	return seq
}

// ListEvents returns up to limit events younger than the retention, newest
// first, without their ClientIP. A limit of zero or less returns none. The
// result is never nil.
func (s *Store) ListEvents(_ context.Context, limit int) ([]apps.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := s.now().Add(-s.retention)
	out := make([]apps.Event, 0, min(max(limit, 0), s.events.n))
	for p := s.events.n - 1; p >= 0 && len(out) < limit; p-- {
		if r := s.events.at(p); r.listed(cut) {
			out = append(out, s.events.event(r, false))
		}
	}
	return out, nil
}

// ListMemberEvents returns up to limit of the member's events younger than
// the retention (of one app when clientID is not empty), newest first,
// with their ClientIP. The result is never nil.
func (s *Store) ListMemberEvents(_ context.Context, member, clientID string, limit int) ([]apps.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []apps.Event{}
	m, ok := s.events.strs.lookup(member)
	if member == "" || !ok {
		return out, nil // no event names that member
	}
	c, ok := s.events.strs.lookup(clientID)
	if !ok {
		return out, nil
	}
	cut := s.now().Add(-s.retention)
	for p := s.events.prevOf(m, s.events.n-1); p >= 0 && len(out) < limit; p = s.events.prevOf(m, p-1) {
		if r := s.events.at(p); (clientID == "" || r.clientID == c) && r.listed(cut) {
			out = append(out, s.events.event(r, true))
		}
	}
	return out, nil
}

func copyApp(a apps.App) apps.App {
	a.RedirectURIs = slices.Clone(a.RedirectURIs)
	a.SecretHash = slices.Clone(a.SecretHash)
	a.Scopes = slices.Clone(a.Scopes)
	a.RegistrationTokenHash = slices.Clone(a.RegistrationTokenHash)
	a.Attestation.Answers = maps.Clone(a.Attestation.Answers)
	return a
}

func copyGrant(g apps.Grant) apps.Grant {
	g.Scopes = slices.Clone(g.Scopes)
	if g.RevokedAt != nil {
		at := *g.RevokedAt
		g.RevokedAt = &at
	}
	return g
}
