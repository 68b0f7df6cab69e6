package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
)

// The bounds of every Redis call made by a client from Open. A stalled
// Redis costs a request about IOTimeout×(MaxRetries+1) before it is
// answered 503, instead of hanging it; a Redis that is down fails at once.
const (
	// DialTimeout bounds connecting (TCP, TLS, HELLO/AUTH).
	DialTimeout = time.Second
	// IOTimeout bounds reading a reply and writing a command. Redis answers
	// the gateway's commands in well under a millisecond; half a second is
	// a stall (or a fork on a very large dataset), not a slow command.
	IOTimeout = 500 * time.Millisecond
	// PoolTimeout bounds waiting for a free connection when all are busy.
	PoolTimeout = time.Second
	// MaxRetries is how often a command that failed on the network is
	// retried: once, so that a connection Redis closed while idle (a
	// restart, a failover) costs no request.
	MaxRetries = 1
)

// newClient makes the client for parsed options with the bounds above,
// and deadlines of the caller's context honoured on the socket.
func newClient(o *goredis.UniversalOptions) goredis.UniversalClient {
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = DialTimeout, IOTimeout, IOTimeout, PoolTimeout
	o.MaxRetries = MaxRetries
	o.ContextTimeoutEnabled = true
	// go-redis retries a refused dial 5 times, 100ms apart, inside every
	// attempt: once is enough, the command retry above is the second.
	const dialerRetries = 1
	switch {
	case o.MasterName != "":
		f := o.Failover()
		f.DialerRetries = dialerRetries
		return goredis.NewFailoverClient(f)
	case o.IsClusterMode || len(o.Addrs) > 1:
		c := o.Cluster()
		c.DialerRetries = dialerRetries
		return goredis.NewClusterClient(c)
	default:
		s := o.Simple()
		s.DialerRetries = dialerRetries
		return goredis.NewClient(s)
	}
}

// unavailableHook marks every error of a Redis call that means Redis could
// not do the work now with apps.ErrUnavailable (see unavailable), so that
// callers answer 503 rather than mistake an outage for an answer. It sits
// on the client, so no call of the store can forget it.
type unavailableHook struct{}

// DialHook is part of goredis.Hook.
func (unavailableHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

// ProcessHook is part of goredis.Hook.
func (unavailableHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		return mark(next(ctx, cmd))
	}
}

// ProcessPipelineHook is part of goredis.Hook; it also covers MULTI/EXEC.
func (unavailableHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			if e := cmd.Err(); unavailable(e) {
				cmd.SetErr(mark(e))
			}
		}
		return mark(err)
	}
}

// mark wraps err with apps.ErrUnavailable when unavailable(err).
func mark(err error) error {
	if !unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", apps.ErrUnavailable, err)
}

// unavailable reports whether a Redis call's error means Redis could not
// do the work now: no reply at all (network, timeout, a closed or
// exhausted pool, the caller's deadline), or a reply that says so
// (LOADING, READONLY, OOM, MASTERDOWN, CLUSTERDOWN, TRYAGAIN, BUSY,
// MISCONF, NOREPLICAS, max clients). redis.Nil, a failed optimistic
// transaction and every other error reply (a bug, not an outage) are not.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, goredis.Nil) || errors.Is(err, apps.ErrUnavailable) {
		return false
	}
	var reply goredis.Error
	if !errors.As(err, &reply) {
		return true
	}
	return goredis.IsLoadingError(err) || goredis.IsReadOnlyError(err) || goredis.IsOOMError(err) ||
		goredis.IsMasterDownError(err) || goredis.IsClusterDownError(err) || goredis.IsTryAgainError(err) ||
		goredis.IsMaxClientsError(err) || goredis.HasErrorPrefix(err, "BUSY") ||
		goredis.HasErrorPrefix(err, "MISCONF") || goredis.HasErrorPrefix(err, "NOREPLICAS")
}

// SetLogger sends go-redis's own log lines (failed dials, pool and
// failover events) to logger at WARN, instead of to stderr. go-redis has
// one logger per process, so this is process-wide.
func SetLogger(logger *slog.Logger) { goredis.SetLogger(slogAdapter{logger}) }

// slogAdapter is go-redis's Logging interface over slog.
type slogAdapter struct{ l *slog.Logger }

// Printf implements go-redis's internal.Logging.
func (a slogAdapter) Printf(ctx context.Context, format string, v ...any) {
	a.l.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
