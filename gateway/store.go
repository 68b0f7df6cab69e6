package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/patientaccess/gateway/gateway/store/memory"
	"github.com/patientaccess/gateway/gateway/store/redis"
)

// openStore opens the store the configuration selects: Redis when
// GATEWAY_REDIS_URL is set, the in-memory store otherwise.
func (g *Gateway) openStore(ctx context.Context, opts Options) error {
	switch {
	case opts.Store != nil:
		g.Store = opts.Store
	case g.Config.RedisURL != "":
		st, client, err := redis.Open(ctx, g.Config.RedisURL, 5*time.Second, redis.WithNow(opts.Now),
			redis.WithAuditRetention(g.Config.AuditRetention))
		if err != nil {
			return fmt.Errorf("open redis store: %w", err)
		}
		g.Store = st
		g.closers = append(g.closers, client.Close)
	default:
		g.Store = memory.New(opts.Now, memory.WithAuditRetention(g.Config.AuditRetention))
	}
	return nil
}
