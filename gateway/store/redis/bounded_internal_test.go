package redis

import (
	"fmt"
	"sync"
	"testing"
)

// TestBounded: a bounded map answers what was put, never holds more than
// its max (a new key drops one entry), and putting a key it holds again
// drops nothing; concurrent use is safe (run with -race).
func TestBounded(t *testing.T) {
	b := bounded[string, int]{max: 3}
	if _, ok := b.get("a"); ok {
		t.Fatal("empty map answered a key")
	}
	for i, k := range []string{"a", "b", "c"} {
		b.put(k, i)
	}
	b.put("a", 10) // held already: nothing dropped
	for k, want := range map[string]int{"a": 10, "b": 1, "c": 2} {
		if v, ok := b.get(k); !ok || v != want {
			t.Errorf("get(%q) = %d, %v; want %d", k, v, ok, want)
		}
	}
	b.put("d", 3)
	held := 0
	for _, k := range []string{"a", "b", "c", "d"} {
		if _, ok := b.get(k); ok {
			held++
		}
	}
	if v, ok := b.get("d"); !ok || v != 3 || held != 3 {
		t.Errorf("after a fourth key: d = %d, %v; %d keys held, want d = 3 and 3 held", v, ok, held)
	}

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := fmt.Sprint(g, ":", i)
				b.put(k, i)
				b.get(k)
			}
		})
	}
	wg.Wait()
	if n := len(b.m); n > b.max {
		t.Errorf("%d entries after concurrent puts, max %d", n, b.max)
	}
}
