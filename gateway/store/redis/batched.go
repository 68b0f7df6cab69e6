package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
)

// getter is what reading one key needs: a client, a transaction (whose
// reads must stay on its connection) or batchedGets.
type getter interface {
	Get(ctx context.Context, key string) *goredis.StringCmd
}

// batchedGets sends each GET through the store's batcher: a read made
// while two pipelines are on the wire goes out with the calls that queued
// meanwhile, in one round trip (see batcher). Never for a WATCHed
// transaction's reads, which must use its connection.
type batchedGets struct{ b *batcher }

// Get queues GET key in a shared pipeline and returns its answer; when
// the round trip failed, its error.
func (g batchedGets) Get(ctx context.Context, key string) *goredis.StringCmd {
	var cmd *goredis.StringCmd
	err := g.b.pipelined(ctx, func(p goredis.Pipeliner) { cmd = p.Get(ctx, key) })
	if roundTripFailed(err) {
		// A call that queued behind a failed round trip fails unsent: its
		// command was never made.
		cmd = goredis.NewStringCmd(ctx, "get", key)
		cmd.SetErr(err)
	}
	return cmd
}

// runScript runs script through the store's batcher, as batchedGets does
// GET: EVALSHA in a shared pipeline, and when Redis does not hold the
// script yet (NOSCRIPT), Script.Run, which sends it whole.
func (s *Store) runScript(ctx context.Context, script *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	var cmd *goredis.Cmd
	err := s.batch.pipelined(ctx, func(p goredis.Pipeliner) { cmd = script.EvalSha(ctx, p, keys, args...) })
	switch {
	case roundTripFailed(err):
		cmd = goredis.NewCmd(ctx, "evalsha", script.Hash())
		cmd.SetErr(err)
	case goredis.HasErrorPrefix(cmd.Err(), "NOSCRIPT"):
		cmd = script.Run(ctx, s.c, keys, args...)
	}
	return cmd
}
