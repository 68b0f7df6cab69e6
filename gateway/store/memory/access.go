package memory

import (
	"context"
	"strconv"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// CheckAccessAppend is CheckAccess and AppendEvent of each event under
// one lock. The refs are the events' seqs.
func (s *Store) CheckAccessAppend(_ context.Context, q oauth.AccessQuery, events []apps.Event) (oauth.AccessCheck, oauth.EventRefs, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	refs := make(oauth.EventRefs, 0, len(events))
	for _, e := range events {
		refs = append(refs, oauth.EventRef{ID: strconv.FormatUint(s.appendEvent(e), 10)})
	}
	c, err := s.checkAccess(q)
	return c, refs, err
}

// CheckAccessGated is CheckAccess and the judging of g under one lock.
// A gate with an invalid limit is not judged, and the token not checked.
func (s *Store) CheckAccessGated(_ context.Context, q oauth.AccessQuery, g oauth.Gate) (oauth.AccessCheck, oauth.Gated, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gated, err := s.gate(g)
	if err != nil {
		return oauth.AccessCheck{}, gated, err
	}
	c, err := s.checkAccess(q)
	return c, gated, err
}

// WithdrawEvents removes the events of refs that are still kept.
func (s *Store) WithdrawEvents(_ context.Context, refs oauth.EventRefs) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ref := range refs {
		seq, err := strconv.ParseUint(ref.ID, 10, 64)
		if err != nil {
			continue // not one of this store's refs: nothing of ours to remove
		}
		s.events.withdraw(seq)
	}
	s.wrote()
	return nil
}
