package synth

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// Summary counts what Generate wrote.
type Summary struct {
	Members   int
	Resources map[string]int // by type
	Bytes     int64
}

// Each calls f with every resource of the set o describes, in a fixed
// order: the plan's Organization, the provider organizations and
// practitioners, the demo members' resources, then each generated
// member's. Members are built on every CPU; f is called from one
// goroutine.
func Each(o Options, f func(Resource) error) error {
	if o.Members < 2 {
		return fmt.Errorf("synth: %d members: the set holds the two demo members, so at least 2", o.Members)
	}
	for _, r := range directory(ProviderCount(o.Members)) {
		if err := f(r); err != nil {
			return err
		}
	}
	for i, m := range demoMembers() {
		for _, r := range m.resources(i) {
			if err := f(r); err != nil {
				return err
			}
		}
	}
	const chunk = 256
	n := o.Members - 2
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		batch := make([][]Resource, hi-lo)
		var wg sync.WaitGroup
		next := make(chan int)
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for i := range next {
					batch[i-lo] = syntheticMember(o, i).resources(i + 2)
				}
			})
		}
		for i := lo; i < hi; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		for _, rs := range batch {
			for _, r := range rs {
				if err := f(r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Generate writes the set o describes into dir as NDJSON, one file per
// resource type (Organization.ndjson, Patient.ndjson…), as FHIR Bulk Data
// export names them. dir is created if needed; files of those names are
// replaced.
func Generate(dir string, o Options) (Summary, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("synth: %w", err)
	}
	s := Summary{Members: o.Members, Resources: map[string]int{}}
	files := map[string]*os.File{}
	writers := map[string]*bufio.Writer{}
	err := Each(o, func(r Resource) error {
		w := writers[r.Type]
		if w == nil {
			f, err := os.Create(filepath.Join(dir, r.Type+".ndjson"))
			if err != nil {
				return err
			}
			files[r.Type], w = f, bufio.NewWriterSize(f, 1<<20)
			writers[r.Type] = w
		}
		s.Resources[r.Type]++
		s.Bytes += int64(len(r.JSON)) + 1
		if _, err := w.Write(r.JSON); err != nil {
			return err
		}
		return w.WriteByte('\n')
	})
	for typ, f := range files {
		err = errors.Join(err, writers[typ].Flush(), f.Close())
	}
	if err != nil {
		return Summary{}, fmt.Errorf("synth: write %s: %w", dir, err)
	}
	return s, nil
}
