package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"testing"

	"github.com/patientaccess/gateway/gateway"
)

// startHeapBudget is the Go heap that starting a demo gateway on the
// embedded store adds (gateway.New, after a GC): the pages' templates, the
// base FHIR check's snapshots, the demo data, the caches the standard
// library fills once. Under GOGC=100 each MB of it is up to 2 MB of peak
// RSS, and the load harness's target for the whole process is 64 MB.
// Measured 2.1 MB; 6.5 MB when every page was cloned for every language
// and intake kept the whole C4BB package (its profiles, value sets and
// examples), 3.5 MB with the first fixed alone.
const startHeapBudget = 3 << 20

// startHeapChild marks the process TestStartHeap starts to measure in.
const startHeapChild = "GATEWAY_TEST_START_HEAP_CHILD"

// TestStartHeap starts a demo gateway, as `gateway serve` does with no
// configuration, in a process of its own (so that no other test has
// filled the caches it would fill) and holds the heap it keeps to
// startHeapBudget.
func TestStartHeap(t *testing.T) {
	if os.Getenv(startHeapChild) == "1" {
		startHeapMeasure(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartHeap$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), startHeapChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("measuring process: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`start heap: before (\d+) B, after (\d+) B`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("measuring process said:\n%s", out)
	}
	before, _ := strconv.ParseInt(string(m[1]), 10, 64)
	after, _ := strconv.ParseInt(string(m[2]), 10, 64)
	t.Logf("heap %d B before gateway.New, %d B after: it keeps %d B (budget %d B)", before, after, after-before, startHeapBudget)
	if after-before > startHeapBudget {
		t.Errorf("a demo gateway keeps %d B of heap once started, over its budget of %d B", after-before, startHeapBudget)
	}
}

func startHeapMeasure(t *testing.T) {
	env := map[string]string{"GATEWAY_DEMO": "true", "GATEWAY_DEMO_PASSWORD": demoPassword, "GATEWAY_ADMIN_TOKEN": adminToken,
		"GATEWAY_ADDR": "127.0.0.1:0", "GATEWAY_POLICY_WATCH_INTERVAL": "off"}
	cfg, err := gateway.ParseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	g, err := gateway.New(context.Background(), cfg, gateway.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	after := heap()
	fmt.Printf("start heap: before %d B, after %d B\n", before, after)
	runtime.KeepAlive(g)
	_ = g.Close()
}
