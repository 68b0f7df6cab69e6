//go:build unix

package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// benchEOBs is n CARIN BB inpatient claims (the demo's, about 3 KB each
// compacted) with distinct ids, spread over n/10 patients, as NDJSON.
func benchEOBs(b *testing.B, n int) []byte {
	b.Helper()
	raw, err := demoFiles.ReadFile("demo/alice-eob-1-inpatient.json")
	if err != nil {
		b.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		b.Fatal(err)
	}
	tmpl := compact.String()
	var out bytes.Buffer
	for i := range n {
		r := strings.Replace(tmpl, `"id":"eob-alice-1001-1"`, fmt.Sprintf(`"id":"eob-%d"`, i), 1)
		r = strings.ReplaceAll(r, "Patient/alice-1001", fmt.Sprintf("Patient/m-%d", i/10))
		out.WriteString(r)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// BenchmarkReadData10kEOB reads and loads 10,000 claims from NDJSON and
// from one collection Bundle, reporting resources per second, the CPU time
// per resource (all threads: steadier than the rate on a shared machine)
// and the heap the loaded source keeps per resource (-benchmem adds what a
// load allocates in all).
func BenchmarkReadData10kEOB(b *testing.B) {
	const n = 10_000
	lines := benchEOBs(b, n)
	entries := bytes.Split(bytes.TrimSpace(lines), []byte("\n"))
	bundle := []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":` +
		string(bytes.Join(entries, []byte(`},{"resource":`))) + `}]}`)
	for _, tc := range []struct {
		name string
		file string
		data []byte
	}{{"ndjson", "eob.ndjson", lines}, {"bundle", "eob.json", bundle}} {
		b.Run(tc.name, func(b *testing.B) {
			src := DataSource{Name: "bench", FS: fstest.MapFS{tc.file: {Data: tc.data}}}
			b.SetBytes(int64(len(tc.data)))
			var kept float64
			cpu := cpuTime()
			for b.Loop() {
				before := heapInUse()
				d, err := ReadData(src)
				if err != nil {
					b.Fatal(err)
				}
				s := NewMemorySource()
				if err := s.Load(d); err != nil {
					b.Fatal(err)
				}
				kept = float64(heapInUse()-before) / n
				runtime.KeepAlive(s)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "resources/s")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(n*b.N), "cpu-µs/resource")
			b.ReportMetric(kept, "heap-B/resource")
		})
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
