package redis

import (
	"context"
	"testing"

	"github.com/patientaccess/gateway/apps"
)

// checkAppendAllocs bounds the allocations of a FHIR call's store step in
// the gateway (CheckAccessAppend of a known token with its read's audit
// event, its pipeline sent alone, go-redis's own allocations included):
// 70 before the step's keys and arguments were kept per token, its
// commands built without boxing their arguments anew, its call, commands
// and appends held in one struct, and its pipelines and event payloads
// pooled; 31 after (32 under -race, which drops a share of what pools
// keep).
const checkAppendAllocs = 36

// TestCheckAccessAppendAllocs pins checkAppendAllocs, so that the work
// taken out of every FHIR read on Redis cannot come back unnoticed.
func TestCheckAccessAppendAllocs(t *testing.T) {
	ctx := context.Background()
	s, _ := openInternal(t)
	q, event := checkFixture(t, s)
	events := []apps.Event{event}
	check := func() {
		if _, _, err := s.CheckAccessAppend(ctx, q, events); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 { // the app and grant decoded and kept, the pools filled
		check()
	}
	n := testing.AllocsPerRun(500, check)
	t.Logf("%.1f allocations per check and append (budget %d)", n, checkAppendAllocs)
	if n > checkAppendAllocs {
		t.Errorf("CheckAccessAppend allocates %.1f times per call, over its budget of %d", n, checkAppendAllocs)
	}
}
