package ui

import (
	"runtime"
	"testing"
)

// TestTemplatesHeap: what New keeps on the heap (every page of every
// language, parsed and escaped, and the catalogs) stays under a budget.
// Each language's pages share one layout and the staff areas' English-only
// pages exist once: 1.2 MB, where parsing the layout with every page and
// cloning every page for every language kept 4.2 MB.
func TestTemplatesHeap(t *testing.T) {
	const budget = 2 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	u := newUI(t, Config{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(u)
	if kept := int64(after.HeapAlloc) - int64(before.HeapAlloc); kept > budget {
		t.Errorf("New kept %d B of heap, budget %d B", kept, budget)
	} else {
		t.Logf("New kept %d B of heap", kept)
	}
}
