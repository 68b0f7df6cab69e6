package conform

import (
	"slices"
	"sync"
)

// Coverage records which must-support elements of each profile appear in
// at least one resource of a data set. It is safe for concurrent use.
type Coverage struct {
	v    *Validator
	mu   sync.Mutex
	seen map[*profile]map[*element]bool
}

// NewCoverage starts an empty Coverage.
func (v *Validator) NewCoverage() *Coverage {
	return &Coverage{v: v, seen: map[*profile]map[*element]bool{}}
}

// Add validates raw like Validate and records the elements it has.
func (cv *Coverage) Add(raw []byte) ([]Issue, error) {
	seen := map[*profile]map[*element]bool{}
	issues, err := cv.v.validate(raw, func(p *profile) map[*element]bool {
		seen[p] = map[*element]bool{}
		return seen[p]
	})
	if err != nil {
		return nil, err
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	for p, elems := range seen {
		if cv.seen[p] == nil {
			cv.seen[p] = map[*element]bool{}
		}
		for e := range elems {
			cv.seen[p][e] = true
		}
	}
	return issues, nil
}

// Missing returns, for each profile with at least one resource, the ids of
// its must-support elements no resource had, in snapshot order. An element
// counts only where its parent was present too: the data has it where it
// would be read. profiles lists the profiles that must have a resource at
// all; one without is reported with the id "(no resource)".
func (cv *Coverage) Missing(profiles ...string) map[string][]string {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	out := map[string][]string{}
	for _, url := range profiles {
		if p := cv.v.profiles[stripVersion(url)]; p == nil || cv.seen[p] == nil {
			out[stripVersion(url)] = []string{"(no resource)"}
		}
	}
	for p, seen := range cv.seen {
		for _, e := range p.all {
			if e.must && !seen[e] && e != p.root {
				out[p.url] = append(out[p.url], e.id)
			}
		}
		if len(out[p.url]) > 0 {
			slices.Sort(out[p.url])
		}
	}
	return out
}
