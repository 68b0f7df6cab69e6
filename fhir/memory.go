package fhir

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
)

// MemorySource is the embedded member-data store: resources kept in memory
// as raw JSON, indexed by type and id and, for member data, by the patient
// whose compartment holds them. It is safe for concurrent use.
type MemorySource struct {
	mu     sync.RWMutex
	byKey  map[string]*stored            // "Type/id"
	owned  map[string]map[string]*stored // "Type\x00patient" → id → resource (member data)
	shared map[string]map[string]*stored // type → id → resource (shared types)
	// byRaw finds a resource by its stored bytes (the first byte's
	// address), so that the Handler is spared inspecting them again on
	// every call (Facts).
	byRaw map[*byte]*stored
}

// ReadsStayLocal marks the MemorySource as a LocalSource.
func (*MemorySource) ReadsStayLocal() {}

var _ Source = (*MemorySource)(nil)

// stored is one resource and the fields it is indexed by.
type stored struct {
	typ         *catalog.Type
	id, patient string
	lastUpdated time.Time
	security    []catalog.Coding // meta.security, for Constraint.Withheld
	facts       catalog.Facts    // catalog.Inspect of raw
	raw         json.RawMessage
}

func (r *stored) key() string { return r.typ.Name + "/" + r.id }

// NewMemorySource returns an empty store.
func NewMemorySource() *MemorySource {
	return &MemorySource{byKey: map[string]*stored{}, owned: map[string]map[string]*stored{}, shared: map[string]map[string]*stored{},
		byRaw: map[*byte]*stored{}}
}

// Add stores one resource, replacing any with the same type and id. It
// refuses what is not JSON, a type the catalog does not know, JSON that
// golang-fhir-models cannot decode as its declared type, a missing or
// malformed id, a missing or malformed meta.lastUpdated, and member data
// whose owner element names no "Patient/<id>". The bytes are compacted,
// never re-encoded: every field, primitive extensions included, is kept.
func (s *MemorySource) Add(raw []byte) error {
	r, err := prepare(raw)
	if err != nil {
		return fmt.Errorf("fhir: add resource: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(r)
	return nil
}

// put indexes r; the caller holds the write lock.
func (s *MemorySource) put(r *stored) {
	if old, ok := s.byKey[r.key()]; ok {
		delete(s.index(old), old.id)
		delete(s.byRaw, &old.raw[0])
	}
	s.byKey[r.key()] = r
	s.byRaw[&r.raw[0]] = r
	idx := s.index(r)
	if idx == nil {
		idx = map[string]*stored{}
		if r.typ.Kind == catalog.MemberData {
			s.owned[ownerKey(r.typ.Name, r.patient)] = idx
		} else {
			s.shared[r.typ.Name] = idx
		}
	}
	idx[r.id] = r
}

// index is the secondary index r belongs to (nil if not created yet).
func (s *MemorySource) index(r *stored) map[string]*stored {
	if r.typ.Kind == catalog.MemberData {
		return s.owned[ownerKey(r.typ.Name, r.patient)]
	}
	return s.shared[r.typ.Name]
}

func ownerKey(typ, patient string) string { return typ + "\x00" + patient }

// prepare checks one resource and reads the fields it is indexed by.
func prepare(raw []byte) (*stored, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	f, err := catalog.Inspect(compact.Bytes())
	if err != nil {
		return nil, err
	}
	typ, ok := catalog.Lookup(f.Type)
	if !ok {
		return nil, fmt.Errorf("resource type %q is not served", f.Type)
	}
	if err := typ.Decode(compact.Bytes()); err != nil {
		return nil, err
	}
	if !catalog.ValidID(f.ID) {
		return nil, fmt.Errorf("%s: id missing or not [A-Za-z0-9-.]{1,64}", f.Type)
	}
	if f.LastUpdated == "" {
		return nil, fmt.Errorf("%s/%s: meta.lastUpdated is required", f.Type, f.ID)
	}
	t, err := time.Parse(time.RFC3339Nano, f.LastUpdated)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: meta.lastUpdated is not an instant: %w", f.Type, f.ID, err)
	}
	if typ.Kind == catalog.MemberData && f.Patient == "" {
		return nil, fmt.Errorf("%s/%s: %s must be a Patient/<id> reference", f.Type, f.ID, typ.Owner.Element)
	}
	return &stored{typ: typ, id: f.ID, patient: f.Patient, lastUpdated: t, security: f.Security, facts: f, raw: compact.Bytes()}, nil
}

// Facts returns catalog.Inspect(raw) as it was when raw was stored, if raw
// is the very bytes (not a copy) this source holds for a resource and
// returned from Read or Search: they never change once stored, so the
// Handler need not decode them again on every call. ok is false for any
// other bytes.
func (s *MemorySource) Facts(raw json.RawMessage) (f catalog.Facts, ok bool) {
	if len(raw) == 0 {
		return catalog.Facts{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, found := s.byRaw[&raw[0]]
	if !found || len(r.raw) != len(raw) {
		return catalog.Facts{}, false
	}
	return r.facts, true
}

// Read implements Source. The returned bytes are shared: callers must not
// modify them.
func (s *MemorySource) Read(_ context.Context, q ReadQuery) (json.RawMessage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.byKey[q.Type.Name+"/"+q.ID]
	if !ok {
		return nil, fmt.Errorf("fhir: read %s: %w", q.Type.Name, ErrNotFound)
	}
	return r.raw, nil
}

// errNoCompartment refuses a search of member data that names no patient.
var errNoCompartment = errors.New("fhir: search of member data without a patient compartment")

// Search implements Source: the resources of q.Type in the constraint's
// compartment (any, for a shared type) that match every criterion and are
// not withheld as sensitive, newest meta.lastUpdated first, then by id;
// the cursor is an offset. Total and paging count only what the
// constraint admits, so they reveal nothing withheld.
func (s *MemorySource) Search(_ context.Context, q Query) (Page, error) {
	if q.Type.Kind == catalog.MemberData && q.Constraint.Patient == "" {
		return Page{}, errNoCompartment
	}
	offset := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 {
			return Page{}, fmt.Errorf("fhir: search %s: bad cursor", q.Type.Name)
		}
		offset = n
	}
	if q.Count < 1 {
		return Page{}, fmt.Errorf("fhir: search %s: page size %d", q.Type.Name, q.Count)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	matches, err := s.matching(q)
	if err != nil {
		return Page{}, err
	}
	page := Page{Total: len(matches)}
	start, end := min(offset, len(matches)), min(offset+q.Count, len(matches))
	for _, r := range matches[start:end] {
		page.Entries = append(page.Entries, r.raw)
	}
	if end < len(matches) {
		page.Next = strconv.Itoa(end)
	}
	page.Included = s.include(matches[start:end], q.Includes, q.Constraint)
	return page, nil
}

// matching lists the candidates of q in order; the caller holds the lock.
func (s *MemorySource) matching(q Query) ([]*stored, error) {
	var candidates map[string]*stored
	if q.Type.Kind == catalog.MemberData {
		candidates = s.owned[ownerKey(q.Type.Name, q.Constraint.Patient)]
	} else {
		candidates = s.shared[q.Type.Name]
	}
	var out []*stored
	for _, r := range candidates {
		if q.Constraint.Withheld.Has(r.security) {
			continue
		}
		ok, err := r.matches(q.Criteria)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *stored) int {
		if c := b.lastUpdated.Compare(a.lastUpdated); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return out, nil
}

// matches evaluates the criteria on r: _id and _lastUpdated from the index,
// the rest on the decoded resource.
func (r *stored) matches(criteria []Criterion) (bool, error) {
	var doc map[string]any
	for _, c := range criteria {
		switch c.Param.Name {
		case "_id":
			if !slices.Contains(c.Values, r.id) {
				return false, nil
			}
			continue
		case "_lastUpdated":
			if !slices.ContainsFunc(c.dates, func(f DateFilter) bool { return f.Match(r.lastUpdated) }) {
				return false, nil
			}
			continue
		}
		if doc == nil {
			var err error
			if doc, err = decodeDoc(r.raw); err != nil {
				return false, fmt.Errorf("fhir: stored %s is not JSON: %w", r.key(), err)
			}
		}
		if !c.matches(doc) {
			return false, nil
		}
	}
	return true, nil
}

// include follows the include parameters from the page's resources to the
// stored resources they reference, each once and none already on the page.
// A reference the store cannot resolve, to another member's data (a
// member-data resource outside the constraint's compartment) or to a
// resource with a withheld label is left out: only shared reference data
// and the member's own records are included.
func (s *MemorySource) include(page []*stored, params []catalog.Param, c access.Constraint) []json.RawMessage {
	if len(params) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, r := range page {
		seen[r.key()] = true
	}
	var out []json.RawMessage
	for _, r := range page {
		doc, err := decodeDoc(r.raw)
		if err != nil {
			continue
		}
		for _, p := range params {
			for _, e := range elements(doc, p.Path) {
				m, _ := e.(map[string]any)
				ref := str(m["reference"])
				typ, _, _ := strings.Cut(ref, "/")
				target, ok := s.byKey[ref]
				if !ok || seen[ref] || !slices.Contains(p.Targets, typ) || c.Withheld.Has(target.security) ||
					(target.typ.Kind == catalog.MemberData && target.patient != c.Patient) {
					continue
				}
				seen[ref] = true
				out = append(out, target.raw)
			}
		}
	}
	return out
}
