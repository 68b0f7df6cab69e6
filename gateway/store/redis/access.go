package redis

import (
	"context"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// CheckAccessAppend is CheckAccess with the appends of AppendEvent for
// each event in the same pipeline: one round trip when q names its
// request and client. The pipeline spans Cluster slots (the token's
// request, the grant, the app and the streams) and is not a transaction:
// the appends happen whatever the reads find, and the caller withdraws
// them (WithdrawEvents) if it refuses the token. A ref is the stream's key
// and the entry's id, after a NUL byte.
func (s *Store) CheckAccessAppend(ctx context.Context, q oauth.AccessQuery, events []apps.Event) (oauth.AccessCheck, oauth.EventRefs, error) {
	type payload struct{ plan, own []byte }
	payloads := make([]payload, len(events))
	for i, e := range events {
		plan, own, err := eventPayloads(e)
		if err != nil {
			return oauth.AccessCheck{}, nil, fmt.Errorf("redis: check access and append: %w", err)
		}
		payloads[i] = payload{plan, own}
	}
	var appends []eventAppend
	c, err := s.checkAccess(ctx, q, func(p goredis.Pipeliner) {
		for i, e := range events {
			appends = s.queueEvent(ctx, p, e.Member, payloads[i].plan, payloads[i].own, appends)
		}
	})
	refs := make(oauth.EventRefs, 0, len(appends))
	var appendErr error
	for _, a := range appends {
		id, err := a.cmd.Text()
		if err != nil {
			appendErr = err
			continue
		}
		refs = append(refs, a.stream+"\x00"+id)
	}
	if err != nil {
		return oauth.AccessCheck{}, refs, err
	}
	if appendErr != nil {
		return oauth.AccessCheck{}, refs, fmt.Errorf("redis: append event: %w", appendErr)
	}
	return c, refs, nil
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
			stream, id, ok := cutLast(ref, "\x00")
			if !ok {
				continue // not a ref this store made: nothing to remove
			}
			p.XDel(ctx, stream, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: withdraw events: %w", err)
	}
	return nil
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
