package redis

import "sync"

// bounded is a map, safe for concurrent use, that keeps at most max
// entries: when it is full, a new key makes room by dropping an arbitrary
// entry. The store keeps what it made once and may make again (a token's
// check arguments, a gate's script arguments, a decoded app or grant) in
// one, so that a busy replica's memory does not grow with every token it
// has seen. A value is never changed once kept. max must be set before
// the first put.
type bounded[K comparable, V any] struct {
	max int
	mu  sync.Mutex
	m   map[K]V
}

// get returns the value kept for k, if any.
func (b *bounded[K, V]) get(k K) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	return v, ok
}

// put keeps v for k.
func (b *bounded[K, V]) put(k K, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[K]V)
	}
	if _, ok := b.m[k]; !ok && len(b.m) >= b.max {
		for old := range b.m {
			delete(b.m, old)
			break
		}
	}
	b.m[k] = v
}
