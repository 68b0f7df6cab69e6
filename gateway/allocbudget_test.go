package gateway_test

import (
	"net/http"
	"runtime"
	"testing"
)

// readBudget is what one token-bearing FHIR read may allocate, building
// its request included, once the token is known: issue 7 asks for at most
// 8 KB. Measured 3.2 KB and 40 allocations on the embedded store (3.7 KB
// and 48 before the middleware copied the request once); on Redis 7.2 KB and 112
// allocations until the store step kept its keys and arguments per token
// and shared its batch's reads and the middleware copied the request once,
// 5.3 KB and 65 since (5.8 KB and 72 under -race, whose pools drop a
// share of what they keep; BenchmarkFHIRRead -benchmem); a change that
// allocates more per read fails TestFHIRReadAllocationBudget.
var readBudget = map[string]uint64{"memory": 6 << 10, "redis": 6 << 10}

// readAllocsBudget is how many allocations one such read may make: each
// costs the collector and the allocator as much as its bytes, and a read's
// are mostly small.
var readAllocsBudget = map[string]uint64{"memory": 56, "redis": 80}

// TestFHIRReadAllocationBudget pins the bytes a FHIR read allocates
// and the allocations it makes (averaged over many reads, so that the rare
// work of the gateway's background tasks does not count) to readBudget
// and readAllocsBudget, on both stores.
func TestFHIRReadAllocationBudget(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			tok := h.launchAs(h.registerApp(false, "approved"), "alice")
			path := "/fhir/Patient/" + h.patient["alice"]
			req := func() *http.Request { return bareRequest(path, tok.AccessToken) }
			w := &discard{}
			const reads = 2000
			for range 50 { // the token's claims, the decoded app and grant, pools
				h.gw.Handler.ServeHTTP(w.reset(), req())
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range reads {
				h.gw.Handler.ServeHTTP(w.reset(), req())
			}
			runtime.ReadMemStats(&after)
			perRead := (after.TotalAlloc - before.TotalAlloc) / reads
			allocs := (after.Mallocs - before.Mallocs) / reads
			t.Logf("%d B, %d allocations per read (budgets %d B, %d)", perRead, allocs, readBudget[name], readAllocsBudget[name])
			if perRead > readBudget[name] {
				t.Errorf("a FHIR read allocates %d B, over its budget of %d B", perRead, readBudget[name])
			}
			if allocs > readAllocsBudget[name] {
				t.Errorf("a FHIR read allocates %d times, over its budget of %d", allocs, readAllocsBudget[name])
			}
		})
	}
}
