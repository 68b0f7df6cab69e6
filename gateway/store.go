package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/patientaccess/gateway/gateway/store/memory"
	"github.com/patientaccess/gateway/gateway/store/redis"
)

// openStore opens the store the configuration selects: Redis when
// GATEWAY_REDIS_URL is set, the in-memory store otherwise. A store that
// can check its settings and mark itself (Redis) is checked: an eviction
// policy that would drop keys is refused, missing persistence is warned
// about, and its marker is written if absent.
func (g *Gateway) openStore(ctx context.Context, opts Options) error {
	switch {
	case opts.Store != nil:
		g.Store = opts.Store
	case g.Config.RedisURL != "":
		redis.SetLogger(opts.Logger)
		prefix := g.Config.RedisKeyPrefix
		if prefix == "" {
			prefix = DefaultRedisKeyPrefix
		}
		st, client, err := redis.Open(ctx, g.Config.RedisURL, 5*time.Second, redis.WithNow(opts.Now),
			redis.WithPrefix(prefix), redis.WithAuditRetention(g.Config.AuditRetention))
		if err != nil {
			return fmt.Errorf("open redis store: %w", err)
		}
		g.Store = st
		g.closers = append(g.closers, client.Close)
	default:
		g.Store = memory.New(opts.Now, memory.WithAuditRetention(g.Config.AuditRetention))
	}
	if err := g.checkStore(ctx, opts.Logger); err != nil {
		return g.fail(err)
	}
	return nil
}

// settingsChecker is implemented by stores whose server settings matter.
type settingsChecker interface {
	CheckSettings(ctx context.Context) (warnings []string, err error)
}

// markedStore is implemented by stores that can lose their data while the
// gateway runs (Redis): a marker written at first start, checked by
// /readyz.
type markedStore interface {
	EnsureMarker(ctx context.Context) (created bool, err error)
	CheckData(ctx context.Context) error
}

func (g *Gateway) checkStore(ctx context.Context, logger *slog.Logger) error {
	if c, ok := g.Store.(settingsChecker); ok {
		warnings, err := c.CheckSettings(ctx)
		if err != nil {
			return fmt.Errorf("redis settings: %w", err)
		}
		for _, w := range warnings {
			logger.WarnContext(ctx, "redis settings: "+w)
		}
	}
	if m, ok := g.Store.(markedStore); ok {
		created, err := m.EnsureMarker(ctx)
		if err != nil {
			return err
		}
		if created {
			logger.WarnContext(ctx, "store marker written: a new store. If this deployment ran before, Redis lost its data (restore it from a backup)")
		}
	}
	return nil
}

// readiness is what /readyz answers from: draining once shutdown began,
// and whether the store answers and still holds its data.
type readiness struct {
	draining atomic.Bool
	lost     atomic.Bool // the last check found the store's data lost (logged once per loss)
}

// pinger is implemented by stores that can check their connection.
type pinger interface {
	Ping(ctx context.Context) error
}

// serveReady is /readyz: 503 while shutting down, when the store does not
// answer, or when it lost its data (its marker key is gone).
func (g *Gateway) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	unready := func(why string) {
		w.Header().Set("Retry-After", "5")
		http.Error(w, why, http.StatusServiceUnavailable)
	}
	if g.ready.draining.Load() {
		unready("shutting down")
		return
	}
	if p, ok := g.Store.(pinger); ok {
		if err := p.Ping(ctx); err != nil {
			unready("store unavailable")
			return
		}
	}
	if m, ok := g.Store.(markedStore); ok {
		err := m.CheckData(ctx)
		lost := errors.Is(err, redis.ErrDataLost)
		if lost && !g.ready.lost.Swap(true) {
			g.logger.ErrorContext(ctx, "store lost its data: its marker key is gone (Redis restarted without persistence, or was flushed); not ready until it is restored and the gateway restarted")
		}
		if !lost {
			g.ready.lost.Store(false)
		}
		if err != nil {
			unready("store unavailable")
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}
