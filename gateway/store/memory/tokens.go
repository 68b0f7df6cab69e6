package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// CreateToken stores a record, replacing any with the same kind and
// signature, and adds it to its request's index.
func (s *Store) CreateToken(_ context.Context, kind oauth.TokenKind, signature string, rec oauth.TokenRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putToken(tokenKey{kind, signature}, rec)
	s.wrote()
	return nil
}

// putToken stores a copy of rec under k and indexes it. The caller holds
// s.mu. The signature is copied: it is a piece of the token's string, or
// of the request that carried it, which the store would otherwise keep as
// long as the record (a rotated refresh token's tombstone, a day).
func (s *Store) putToken(k tokenKey, rec oauth.TokenRecord) {
	s.removeToken(k)
	k.sig = strings.Clone(k.sig)
	s.tokens[k] = copyRecord(rec)
	idx := s.byRequest[rec.RequestID]
	if idx == nil {
		idx = map[tokenKey]struct{}{}
		s.byRequest[rec.RequestID] = idx
	}
	idx[k] = struct{}{}
}

// UseToken turns the used record inactive, removes the dropped records
// and stores the issued ones, under one lock: all or nothing.
func (s *Store) UseToken(_ context.Context, u oauth.TokenUse) (oauth.TokenRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := tokenKey{u.Kind, u.Signature}
	rec, ok := s.live(k)
	if !ok {
		return oauth.TokenRecord{}, fmt.Errorf("use %s token: %w", u.Kind, oauth.ErrNotFound)
	}
	if !rec.Active {
		return copyRecord(rec), fmt.Errorf("use %s token: %w", u.Kind, oauth.ErrInactive)
	}
	drop := slices.Clone(u.Drop)
	if u.DropAccess && rec.AccessSignature != "" {
		drop = append(drop, oauth.TokenRef{Kind: oauth.KindAccess, Signature: rec.AccessSignature})
	}
	for _, d := range drop {
		if other, ok := s.requestOf(tokenKey{d.Kind, d.Signature}); ok && other != rec.RequestID {
			return oauth.TokenRecord{}, fmt.Errorf("use %s token: %s record %s belongs to another request", u.Kind, d.Kind, d.Signature)
		}
	}
	for _, is := range u.Issue {
		if is.Record.RequestID != rec.RequestID {
			return oauth.TokenRecord{}, fmt.Errorf("use %s token: issued %s belongs to another request", u.Kind, is.Kind)
		}
	}
	was := copyRecord(rec)
	s.bury(k, rec, s.now().Add(oauth.InactiveTail))
	for _, d := range drop {
		s.removeToken(tokenKey{d.Kind, d.Signature})
	}
	for _, is := range u.Issue {
		s.putToken(tokenKey{is.Kind, is.Signature}, is.Record)
	}
	s.wrote()
	return was, nil
}

// GetToken returns the record, active or not, or oauth.ErrNotFound when it
// is absent or past its expiry plus oauth.InactiveTail.
func (s *Store) GetToken(_ context.Context, kind oauth.TokenKind, signature string) (oauth.TokenRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.live(tokenKey{kind, signature})
	if !ok {
		return oauth.TokenRecord{}, fmt.Errorf("get %s token: %w", kind, oauth.ErrNotFound)
	}
	return copyRecord(rec), nil
}

// CheckAccess returns the access token's record (without its request
// projection when it has claims), its app and its grant, under one lock.
func (s *Store) CheckAccess(_ context.Context, q oauth.AccessQuery) (oauth.AccessCheck, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkAccess(q)
}

// checkAccess is CheckAccess under the lock.
func (s *Store) checkAccess(q oauth.AccessQuery) (oauth.AccessCheck, error) {
	rec, ok := s.live(tokenKey{oauth.KindAccess, q.Signature})
	if !ok {
		return oauth.AccessCheck{}, fmt.Errorf("check access token: %w", oauth.ErrNotFound)
	}
	if len(rec.Claims) > 0 {
		rec.Request = nil
		if q.KnownClaims {
			rec.Claims = nil
		}
	}
	rec = copyRecord(rec)
	var c oauth.AccessCheck
	c.Record = rec
	if a, ok := s.apps[rec.ClientID]; ok {
		c.App = copyApp(a)
	}
	if g, ok := s.grants[rec.RequestID]; ok {
		c.Grant = copyGrant(g)
	}
	return c, nil
}

// DeleteToken removes a record; removing a missing record is not an error.
func (s *Store) DeleteToken(_ context.Context, kind oauth.TokenKind, signature string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeToken(tokenKey{kind, signature})
	s.wrote()
	return nil
}

// DeactivateToken turns an active record inactive and returns it as it was:
// oauth.ErrInactive if it was already inactive, oauth.ErrNotFound if there
// is none (or it expired).
func (s *Store) DeactivateToken(_ context.Context, kind oauth.TokenKind, signature string) (oauth.TokenRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := tokenKey{kind, signature}
	rec, ok := s.live(k)
	if !ok {
		return oauth.TokenRecord{}, fmt.Errorf("deactivate %s token: %w", kind, oauth.ErrNotFound)
	}
	if !rec.Active {
		return copyRecord(rec), fmt.Errorf("deactivate %s token: %w", kind, oauth.ErrInactive)
	}
	was := copyRecord(rec)
	s.bury(k, rec, rec.ExpiresAt.Add(oauth.InactiveTail))
	s.wrote()
	return was, nil
}

// RevokeRequest removes every record of the given kinds (all kinds if none
// are given) issued under requestID.
func (s *Store) RevokeRequest(_ context.Context, requestID string, kinds ...oauth.TokenKind) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.byRequest[requestID] {
		if len(kinds) == 0 || slices.Contains(kinds, k.kind) {
			s.removeToken(k)
		}
	}
	s.tombs.revoke(requestID, kinds)
	s.wrote()
	return nil
}

// bury turns the live record under k into its tombstone (tombs.go),
// kept until its ExpiresAt+oauth.InactiveTail or until, if that is
// sooner: a used code or a rotated refresh token is kept only
// oauth.InactiveTail from its use, long enough to detect its reuse. The
// caller holds s.mu.
func (s *Store) bury(k tokenKey, rec oauth.TokenRecord, until time.Time) {
	s.removeToken(k)
	if end := rec.ExpiresAt.Add(oauth.InactiveTail); end.Before(until) {
		until = end
	}
	s.tombs.put(k, rec, until)
}

// live returns the record, or the tombstone as an inactive record, if it
// exists and has not expired; an expired one is removed. The caller
// holds s.mu.
func (s *Store) live(k tokenKey) (oauth.TokenRecord, bool) {
	rec, ok := s.tokens[k]
	if !ok {
		return s.tombs.get(k, s.now())
	}
	if tokenExpired(rec, s.now()) {
		s.removeToken(k)
		return oauth.TokenRecord{}, false
	}
	return rec, true
}

// requestOf returns the request id of the record or tombstone under k,
// expired or not. The caller holds s.mu.
func (s *Store) requestOf(k tokenKey) (string, bool) {
	if rec, ok := s.tokens[k]; ok {
		return rec.RequestID, true
	}
	return s.tombs.requestOf(k)
}

// removeToken deletes a record and its index entry, or a tombstone. The
// caller holds s.mu.
func (s *Store) removeToken(k tokenKey) {
	rec, ok := s.tokens[k]
	if !ok {
		s.tombs.remove(k)
		return
	}
	delete(s.tokens, k)
	idx := s.byRequest[rec.RequestID]
	delete(idx, k)
	if len(idx) == 0 {
		delete(s.byRequest, rec.RequestID)
	}
}

// PutMember creates or replaces the member.
func (s *Store) PutMember(_ context.Context, m oauth.Member) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[m.Username] = m
	s.wrote()
	return nil
}

// GetMember returns the member with that username, or oauth.ErrNotFound.
func (s *Store) GetMember(_ context.Context, username string) (oauth.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[username]
	if !ok {
		return oauth.Member{}, fmt.Errorf("get member: %w", oauth.ErrNotFound)
	}
	return m, nil
}

// PutSession stores a session until its ExpiresAt.
func (s *Store) PutSession(_ context.Context, sess oauth.LoginSession) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[sess.ID] = sess
	s.wrote()
	return nil
}

// GetSession returns the session, or oauth.ErrNotFound if it is absent or
// expired.
func (s *Store) GetSession(_ context.Context, id string) (oauth.LoginSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if ok && sessionExpired(sess, s.now()) {
		delete(s.sessions, id)
		ok = false
	}
	if !ok {
		return oauth.LoginSession{}, fmt.Errorf("get session: %w", oauth.ErrNotFound)
	}
	return sess, nil
}

// DeleteSession ends a session; deleting a missing one is not an error.
func (s *Store) DeleteSession(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
	s.wrote()
	return nil
}

func copyRecord(rec oauth.TokenRecord) oauth.TokenRecord {
	rec.Request = slices.Clone(rec.Request)
	rec.Claims = slices.Clone(rec.Claims)
	return rec
}
