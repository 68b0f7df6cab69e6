package redis

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// CheckAccessAppend is CheckAccess with the appends of AppendEvent for
// each event in the same pipeline: one round trip when q names its
// request and client. The pipeline spans Cluster slots (the token's
// request, the grant, the app and the streams) and is not a transaction:
// the appends happen whatever the reads find, and the caller withdraws
// them (WithdrawEvents) if it refuses the token.
func (s *Store) CheckAccessAppend(ctx context.Context, q oauth.AccessQuery, events []apps.Event) (oauth.AccessCheck, oauth.EventRefs, error) {
	enc, err := encodeEvents(events)
	if err != nil {
		return oauth.AccessCheck{}, nil, fmt.Errorf("redis: check access and append: %w", err)
	}
	defer enc.release()
	c, appends, err := s.checkAccess(ctx, q, nil, enc.payloads)
	refs := make(oauth.EventRefs, 0, len(appends))
	var appendErr error
	for _, a := range appends {
		id, err := a.cmd.Result()
		if err != nil {
			appendErr = err
			continue
		}
		refs = append(refs, oauth.EventRef{Log: a.stream, ID: id})
	}
	if err != nil {
		return oauth.AccessCheck{}, refs, err
	}
	if appendErr != nil {
		return oauth.AccessCheck{}, refs, fmt.Errorf("redis: append event: %w", appendErr)
	}
	return c, refs, nil
}

// CheckAccessGated is CheckAccess with g judged by one script
// (gateScript, on the Cluster slot of g's subject) in its first round
// trip: one round trip, shared with concurrent checks (batcher), when q
// names its request and client. The pipeline spans slots and is no
// transaction: the gate is judged whatever the reads find.
func (s *Store) CheckAccessGated(ctx context.Context, q oauth.AccessQuery, g oauth.Gate) (oauth.AccessCheck, oauth.Gated, error) {
	gate, err := s.newGate(g)
	if err != nil {
		return oauth.AccessCheck{}, oauth.Gated{}, err
	}
	c, _, err := s.checkAccess(ctx, q, func(p goredis.Pipeliner) { gate.queue(ctx, p) }, nil)
	gated, gateErr := s.judged(ctx, gate)
	if gateErr != nil {
		if err == nil || errors.Is(err, oauth.ErrNotFound) {
			err = gateErr
		}
		return oauth.AccessCheck{}, oauth.Gated{}, err
	}
	return c, gated, err
}

// WithdrawEvents deletes the stream entries refs name (XDEL), in one
// pipeline. Entries already gone (trimmed by the retention) are not an
// error.
func (s *Store) WithdrawEvents(ctx context.Context, refs oauth.EventRefs) error {
	if len(refs) == 0 {
		return nil
	}
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, ref := range refs {
			p.XDel(ctx, ref.Log, ref.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: withdraw events: %w", err)
	}
	return nil
}
