//go:build unix

package synth

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
)

// BenchmarkGenerate measures the generation rate: a 1,000-member set (on
// average 6 EOBs a member) built and encoded, written nowhere.
func BenchmarkGenerate(b *testing.B) {
	o := Options{Members: 1000, Seed: 1}
	var resources, size int64
	cpu := cpuTime()
	for b.Loop() {
		if err := Each(o, func(r Resource) error { resources++; size += int64(len(r.JSON)); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(resources)/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64(size)/b.Elapsed().Seconds()/1e6, "MB/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(resources), "cpu-µs/resource")
}

// cpuTime is the CPU time the process used, all threads: steadier than
// rates on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ndjsonFS is the set o as NDJSON files in memory, as --data reads them.
func ndjsonFS(b *testing.B, o Options) (fstest.MapFS, int) {
	b.Helper()
	files := map[string]*bytes.Buffer{}
	n := 0
	if err := Each(o, func(r Resource) error {
		if files[r.Type] == nil {
			files[r.Type] = &bytes.Buffer{}
		}
		files[r.Type].Write(r.JSON)
		files[r.Type].WriteByte('\n')
		n++
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	fsys := fstest.MapFS{}
	for typ, buf := range files {
		fsys[typ+".ndjson"] = &fstest.MapFile{Data: buf.Bytes()}
	}
	return fsys, n
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkLoad measures the load rate of a 1,000-member set into the
// embedded source through the reader --data uses (intake checks
// included), and the heap the loaded source holds per resource.
func BenchmarkLoad(b *testing.B) {
	fsys, n := ndjsonFS(b, Options{Members: 1000, Seed: 1})
	var perResource float64
	cpu := cpuTime()
	for b.Loop() {
		before := heap()
		d, err := fhir.DataReader{}.Read(fhir.DataSource{Name: "bench", FS: fsys})
		if err != nil {
			b.Fatal(err)
		}
		src := fhir.NewMemorySource()
		if err := src.Load(d); err != nil {
			b.Fatal(err)
		}
		d = nil
		perResource = float64(heap()-before) / float64(n)
		runtime.KeepAlive(src)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(perResource, "heap-B/resource")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(n*b.N), "cpu-µs/resource")
}

// searchStore is a source holding the set o, added resource by resource
// (MemorySource.Add: the store's own checks without the base FHIR check,
// which only changes how long building takes).
func searchStore(b *testing.B, o Options) *fhir.MemorySource {
	b.Helper()
	src := fhir.NewMemorySource()
	if err := Each(o, func(r Resource) error { return src.Add(r.JSON) }); err != nil {
		b.Fatal(err)
	}
	return src
}

// patientID is the Patient id of member i of a set.
func patientID(i int) string {
	switch i {
	case 0:
		return "alice-1001"
	case 1:
		return "bob-2002"
	}
	return fmt.Sprintf("pat-%07d", i-1)
}

// BenchmarkEOBSearchByPatient compares the first page of a member's
// ExplanationOfBenefit search in a small and a ten-times larger plan, the
// two alternating in the same run, and reports each one's p50 and p99 and
// the ratio large/small of the p50s: near 1 when a search costs what the
// member's own records cost, not what the plan holds. The sizes are 10,000
// and 100,000 members with GATEWAY_BENCH_LARGE=1 (about 4 GB of heap and
// minutes to build), 1,000 and 10,000 otherwise; members have on average
// 2 EOBs.
func BenchmarkEOBSearchByPatient(b *testing.B) {
	small := 1000
	if os.Getenv("GATEWAY_BENCH_LARGE") == "1" {
		small = 10000
	}
	sizes := []int{small, 10 * small}
	stores := make([]*fhir.MemorySource, 2)
	for i, n := range sizes {
		stores[i] = searchStore(b, Options{Members: n, Seed: 3, Claims: 2})
	}
	eob, _ := catalog.Lookup("ExplanationOfBenefit")
	r := rand.New(rand.NewPCG(4, 4))
	times := [2][]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		for i, src := range stores {
			q := fhir.Query{Type: eob, Constraint: access.Constraint{Patient: patientID(r.IntN(sizes[i]))}, Count: 10}
			start := time.Now()
			if _, err := src.Search(context.Background(), q); err != nil {
				b.Fatal(err)
			}
			times[i] = append(times[i], time.Since(start))
		}
	}
	var p50 [2]float64
	for i, ts := range times {
		slices.Sort(ts)
		p50[i] = float64(ts[len(ts)/2].Nanoseconds())
		b.ReportMetric(p50[i], "p50-ns/"+strconv.Itoa(sizes[i]))
		b.ReportMetric(float64(ts[len(ts)*99/100].Nanoseconds()), "p99-ns/"+strconv.Itoa(sizes[i]))
	}
	b.ReportMetric(p50[1]/p50[0], "p50-ratio")
}
