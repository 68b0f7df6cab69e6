package redis

import (
	"context"
	"errors"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// maxBatchesInFlight is how many batched pipelines (see batcher) may be on
// the wire at once. Two keep Redis busy while the gateway reads the
// answers of one and writes the next; more would split the queue into
// smaller batches.
const maxBatchesInFlight = 2

// batcher coalesces concurrent callers' pipelines (group commit): a
// caller that finds fewer than max pipelines in flight sends its own at
// once, so a lone caller never waits; otherwise it queues, and whatever
// has queued when a pipeline in flight comes back goes out together, in
// one pipeline: one write and one read on the gateway's side and on
// Redis's, instead of one per caller. The commands are Redis's as before,
// in each caller's order; a pipeline is no transaction, so batching
// changes no guarantee. A batch is sent by the first of its callers with
// the context's values but without its cancellation or deadline (the
// others' calls must not fail with it), bounded by the client's timeouts.
type batcher struct {
	c   goredis.UniversalClient
	max int

	mu       sync.Mutex
	inFlight int
	waiting  []*batchCall

	// states are the pipelines (and shared reads' maps) of sent batches,
	// kept for the next ones: Exec leaves a pipeline empty, and the
	// client's hooks are found when it runs, not when it was made.
	states sync.Pool
}

// batchCall is one caller's part of a batch.
type batchCall struct {
	q          queuer
	start, end int // its commands in the batch's pipeline
	err        error
	// sent is done when the call was sent, or when it is to send batch
	// (a WaitGroup rather than a channel: it lives in the call, so a
	// waiting call allocates nothing more).
	sent  sync.WaitGroup
	batch []*batchCall
}

// queuer adds a caller's commands to a batch's pipeline; reads it may
// share with the batch's other callers go through shared.
type queuer interface {
	queue(p goredis.Pipeliner, shared *sharedReads)
}

// queueFunc is a queuer made of a function; it shares no read.
type queueFunc func(goredis.Pipeliner)

func (f queueFunc) queue(p goredis.Pipeliner, _ *sharedReads) { f(p) }

// sharedReads are the reads of one batch that its callers share: a read
// (GET key, HGET key field) that a caller of the batch queued already is
// answered by that command, not sent again. The batch's callers are
// concurrent, and its pipeline goes out after every one of them began, so
// one read serves them all as well as one each: each sees what the key
// held at a moment between its start and its return, as before. Every
// FHIR call reads the apps version, and concurrent calls with one token
// its record and its grant: a batch reads each once.
type sharedReads struct {
	m map[sharedRead]*goredis.StringCmd
}

// sharedRead names a read: the command, its key and its field (nil for
// GET), as boxed for go-redis.
type sharedRead struct {
	cmd        string
	key, field any
}

// get queues GET key, unless the batch has.
func (r *sharedReads) get(ctx context.Context, p goredis.Pipeliner, key any) *goredis.StringCmd {
	return r.read(ctx, p, sharedRead{"get", key, nil})
}

// hget queues HGET key field, unless the batch has.
func (r *sharedReads) hget(ctx context.Context, p goredis.Pipeliner, key, field any) *goredis.StringCmd {
	return r.read(ctx, p, sharedRead{"hget", key, field})
}

func (r *sharedReads) read(ctx context.Context, p goredis.Pipeliner, k sharedRead) *goredis.StringCmd {
	if cmd, ok := r.m[k]; ok {
		return cmd
	}
	var cmd *goredis.StringCmd
	if k.field == nil {
		cmd = goredis.NewStringCmd(ctx, k.cmd, k.key)
	} else {
		cmd = goredis.NewStringCmd(ctx, k.cmd, k.key, k.field)
	}
	_ = p.Process(ctx, cmd)
	if r.m == nil {
		r.m = make(map[sharedRead]*goredis.StringCmd)
	}
	r.m[k] = cmd
	return cmd
}

// pipelined queues the commands queue adds in a pipeline, sends it, alone
// or with other callers' commands, and returns the first error among its
// own commands (redis.Nil included), as Pipelined does.
func (b *batcher) pipelined(ctx context.Context, queue func(goredis.Pipeliner)) error {
	c := &batchCall{q: queueFunc(queue)}
	return b.run(ctx, c)
}

// run is pipelined for a call whose queuer is set (c.q): a caller may
// keep the call in a struct of its own that queues its commands, and so
// make one allocation for the call, its commands' state and its queuer.
func (b *batcher) run(ctx context.Context, c *batchCall) error {
	b.mu.Lock()
	if b.inFlight < b.max {
		b.inFlight++
		b.mu.Unlock()
		b.send(ctx, []*batchCall{c})
		return c.err
	}
	c.sent.Add(1)
	b.waiting = append(b.waiting, c)
	b.mu.Unlock()
	c.sent.Wait()
	if c.batch != nil {
		b.send(ctx, c.batch)
	}
	return c.err
}

// send sends batch in one pipeline and gives each call its error, then
// hands the calls that queued meanwhile to the first of them to send, or
// frees its place in flight when none did. When the round trip failed
// (Redis down or stalled: the client's timeouts ran out), the calls that
// queued meanwhile fail with it unsent, so that none waits for two
// timeouts in a row, its predecessor's and its own.
func (b *batcher) send(ctx context.Context, batch []*batchCall) {
	st := b.state()
	p := st.p
	for _, c := range batch {
		c.start = p.Len()
		c.q.queue(p, &st.shared)
		c.end = p.Len()
	}
	cmds, err := p.Exec(context.WithoutCancel(ctx))
	clear(st.shared.m)
	b.states.Put(st)
	for _, c := range batch {
		c.err = firstErr(cmds, c.start, c.end, err)
	}
	failed := roundTripFailed(err)
	b.mu.Lock()
	next := b.waiting
	b.waiting = nil
	if len(next) == 0 || failed {
		b.inFlight--
	}
	b.mu.Unlock()
	for _, c := range batch[1:] {
		c.sent.Done()
	}
	switch {
	case failed:
		for _, c := range next {
			c.err = err
			c.sent.Done()
		}
	case len(next) > 0:
		next[0].batch = next
		next[0].sent.Done()
	}
}

// batchState is what a batch is sent with: its pipeline and its shared
// reads.
type batchState struct {
	p      goredis.Pipeliner
	shared sharedReads
}

// state is an empty batchState for b's client: one kept from an earlier
// batch, or a new one.
func (b *batcher) state() *batchState {
	if st, ok := b.states.Get().(*batchState); ok {
		return st
	}
	return &batchState{p: b.c.Pipeline()}
}

// roundTripFailed reports whether a pipeline's error means the round trip
// itself failed (network, pool, timeout), not one command's reply.
func roundTripFailed(err error) bool {
	if err == nil {
		return false // before reply, which escapes to errors.As: no allocation per call
	}
	var reply goredis.Error
	return !errors.As(err, &reply)
}

// firstErr is the first error among cmds[start:end] (redis.Nil
// included), or err, the pipeline's, when that is no reply of Redis's: the
// round trip failed (network, pool, timeout), and go-redis need not have
// set it on every command.
func firstErr(cmds []goredis.Cmder, start, end int, err error) error {
	if roundTripFailed(err) || end > len(cmds) {
		return err
	}
	for _, cmd := range cmds[start:end] {
		if e := cmd.Err(); e != nil {
			return e
		}
	}
	return nil
}
