package nodetest

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartRetriesAStalledServer: a server that says nothing within the
// limit on its first start (as a Node server starved of CPU by the rest of
// the suite once did in CI) is killed and started again, and the test goes
// on with the second one.
func TestStartRetriesAStalledServer(t *testing.T) {
	Require(t)
	defer func(old time.Duration) { startLimit = old }(startLimit)
	startLimit = 3 * time.Second
	marker := filepath.Join(t.TempDir(), "stalled")
	s := Start(t, "stall-once.mjs", "STALL_MARKER="+marker)
	if s.URL != "http://127.0.0.1:1" {
		t.Errorf("URL = %q, want the second start's", s.URL)
	}
}

// TestStalledStartSaysWhy: a try that stalls reports the process's state
// and CPU time, so that a CI failure tells a starved server from a stuck one.
func TestStalledStartSaysWhy(t *testing.T) {
	Require(t)
	marker := filepath.Join(t.TempDir(), "stalled")
	s, err := startOnce("stall-once.mjs", []string{"STALL_MARKER=" + marker, "STALL_ALWAYS=1"}, 2*time.Second)
	if err == nil {
		s.stop()
		t.Fatal("startOnce of a stalling script succeeded")
	}
	for _, want := range []string{`no "listening" line within 2s`, "process state ", "s CPU used"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
