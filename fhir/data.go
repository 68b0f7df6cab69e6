package fhir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// DataSource is a tree of FHIR data files: the embedded demo data or an
// operator's directory. ReadData reads every .json (a Bundle of any type, or
// one resource), .ndjson and .ndjson.gz (one resource per line, as FHIR Bulk
// Data export and Synthea write them) file in it.
type DataSource struct {
	// Name is how problems name the tree: "demo", or the directory path.
	Name string
	FS   fs.FS
}

// DirData is the directory dir as a DataSource.
func DirData(dir string) DataSource { return DataSource{Name: dir, FS: os.DirFS(dir)} }

// Dataset is resources read from files and checked one by one, not yet
// visible to anyone: MemorySource.Load makes them visible all at once.
type Dataset struct {
	resources []*stored
	// Summary counts what the files held.
	Summary DataSummary
}

// DataSummary counts what a Dataset holds.
type DataSummary struct {
	Files     int      // data files read
	Skipped   []string // files left alone: not .json, .ndjson or .ndjson.gz
	Resources int      // resources in all
	// Identical counts resources read more than once with the same
	// content, kept once.
	Identical int
	Types     map[string]int // resources per type
	// Patients is the number of members: the Patient resources.
	Patients int
	// Compartments is the number of patients that member data (other than
	// Patient itself) belongs to.
	Compartments int
	// Orphans lists, sorted, the patients that member data belongs to but
	// that have no Patient resource in the data: legal, but usually a
	// mistake.
	Orphans []string
}

// String is the summary as an operator reads it: resources per type in
// catalog order, then members.
func (s DataSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d resources from %d files", s.Resources, s.Files)
	if s.Identical > 0 {
		fmt.Fprintf(&b, " (%d read twice with the same content, kept once)", s.Identical)
	}
	if len(s.Skipped) > 0 {
		fmt.Fprintf(&b, " (%d other files ignored: %s)", len(s.Skipped), strings.Join(capList(s.Skipped, 5), ", "))
	}
	b.WriteString("\n")
	for _, t := range catalog.All() {
		if n := s.Types[t.Name]; n > 0 {
			fmt.Fprintf(&b, "  %-22s %d\n", t.Name, n)
		}
	}
	fmt.Fprintf(&b, "members (Patient resources): %d; patients with other member data: %d\n", s.Patients, s.Compartments)
	if len(s.Orphans) > 0 {
		fmt.Fprintf(&b, "warning: member data for %d patients with no Patient resource: %s\n",
			len(s.Orphans), strings.Join(capList(s.Orphans, 10), ", "))
	}
	return b.String()
}

func capList(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(slices.Clone(list[:n]), fmt.Sprintf("… %d more", len(list)-n))
}

// summarize fills the counts from the resources.
func (d *Dataset) summarize() {
	s := &d.Summary
	s.Resources, s.Types = len(d.resources), map[string]int{}
	patients, owners := map[string]bool{}, map[string]bool{}
	for _, r := range d.resources {
		s.Types[r.typ.Name]++
		switch {
		case r.typ.Name == "Patient":
			patients[r.id] = true
		case r.typ.Kind == catalog.MemberData:
			owners[r.patient] = true
		}
	}
	s.Patients, s.Compartments = len(patients), len(owners)
	for p := range owners {
		if !patients[p] {
			s.Orphans = append(s.Orphans, p)
		}
	}
	slices.Sort(s.Orphans)
}

// MaxProblems is how many problems a DataError lists; it counts the rest.
const MaxProblems = 50

// Problem is one thing wrong in the data, where it is.
type Problem struct {
	File string // the file, prefixed with its DataSource's name
	// Line is the 1-based line the problem is on (an NDJSON line, the
	// start of a Bundle entry); 0 when it concerns the whole file.
	Line int
	// Entry is the 0-based index of the Bundle entry, or -1.
	Entry int
	Msg   string
}

func (p Problem) String() string { return p.where() + ": " + p.Msg }

// where is "file[:line][: entry[i]]".
func (p Problem) where() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	if p.Entry >= 0 {
		fmt.Fprintf(&b, ": entry[%d]", p.Entry)
	}
	return b.String()
}

// DataError is every problem found in the data (the first MaxProblems of
// them, in file and line order) when any was found.
type DataError struct {
	Problems []Problem
	Total    int // all problems, listed or not
}

func (e *DataError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "FHIR data: %d problem", e.Total)
	if e.Total != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if more := e.Total - len(e.Problems); more > 0 {
		fmt.Fprintf(&b, "\n  … and %d more", more)
	}
	return b.String()
}

// add records a problem, keeping the first MaxProblems.
func (e *DataError) add(p Problem) {
	e.Total++
	if len(e.Problems) < MaxProblems {
		e.Problems = append(e.Problems, p)
	}
}

// ErrConflict is returned by Load for a resource the source already holds.
var ErrConflict = errors.New("already loaded")

// Load makes every resource of d visible at once. It refuses the whole
// Dataset, changing nothing, if the source already holds any of its
// Type/id (listing them, the first MaxProblems).
func (s *MemorySource) Load(d *Dataset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var dup []string
	for _, r := range d.resources {
		if _, ok := s.byKey[r.key()]; ok {
			dup = append(dup, r.key())
		}
	}
	if len(dup) > 0 {
		return fmt.Errorf("fhir: load data: %d resources %w: %s", len(dup), ErrConflict, strings.Join(capList(dup, MaxProblems), ", "))
	}
	for _, r := range d.resources {
		s.put(r)
	}
	return nil
}
