package gateway_test

import (
	"net/http"
	"runtime"
	"testing"
)

// readBudget is what one token-bearing FHIR read may allocate, building
// its request included, once the token is known: issue 7 asks for at most
// 8 KB. Measured 3.9 KB on the embedded store and 6.8 KB on Redis (7.1
// under -race; BenchmarkFHIRRead -benchmem); a change that allocates more
// per read fails TestFHIRReadAllocationBudget.
var readBudget = map[string]uint64{"memory": 6 << 10, "redis": 8 << 10}

// TestFHIRReadAllocationBudget pins the bytes a FHIR read allocates
// (averaged over many reads, so that the rare work of the gateway's
// background tasks does not count) to readBudget, on both stores.
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
			t.Logf("%d B per read (budget %d)", perRead, readBudget[name])
			if perRead > readBudget[name] {
				t.Errorf("a FHIR read allocates %d B, over its budget of %d B", perRead, readBudget[name])
			}
		})
	}
}
