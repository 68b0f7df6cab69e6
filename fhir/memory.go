package fhir

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// MemorySource is the embedded member-data store: resources kept in memory
// as raw JSON, indexed by type, id and patient compartment. It is safe for
// concurrent use.
type MemorySource struct {
	mu    sync.RWMutex
	byKey map[string]*stored            // "Type/id"
	owned map[string]map[string]*stored // "Type\x00patient" → id → resource
}

var _ Source = (*MemorySource)(nil)

// stored is one resource and the fields it is indexed by.
type stored struct {
	typ, id, patient string
	lastUpdated      time.Time
	raw              json.RawMessage
}

// NewMemorySource returns an empty store.
func NewMemorySource() *MemorySource {
	return &MemorySource{byKey: map[string]*stored{}, owned: map[string]map[string]*stored{}}
}

// Add stores one resource, replacing any with the same type and id. It
// refuses JSON that golang-fhir-models cannot decode as its declared type,
// a type the server does not serve, a missing or malformed id, a missing
// meta.lastUpdated instant, and a resource that names no patient
// compartment (Coverage.beneficiary or ExplanationOfBenefit.patient must be
// a "Patient/<id>" reference). The bytes are compacted, never re-encoded:
// every field, primitive extensions included, is kept.
func (s *MemorySource) Add(raw []byte) error {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return fmt.Errorf("fhir: add resource: not JSON: %w", err)
	}
	r, err := index(compact.Bytes())
	if err != nil {
		return fmt.Errorf("fhir: add resource: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.typ + "/" + r.id
	if old, ok := s.byKey[key]; ok {
		delete(s.owned[ownerKey(old.typ, old.patient)], old.id)
	}
	s.byKey[key] = r
	ok := ownerKey(r.typ, r.patient)
	if s.owned[ok] == nil {
		s.owned[ok] = map[string]*stored{}
	}
	s.owned[ok][r.id] = r
	return nil
}

func ownerKey(typ, patient string) string { return typ + "\x00" + patient }

// Read implements Source. The returned bytes are shared: callers must not
// modify them.
func (s *MemorySource) Read(_ context.Context, resourceType, id string) (json.RawMessage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.byKey[resourceType+"/"+id]
	if !ok {
		return nil, fmt.Errorf("fhir: read %s: %w", resourceType, ErrNotFound)
	}
	return r.raw, nil
}

// errNoCompartment refuses a search that names no patient.
var errNoCompartment = errors.New("fhir: search without a patient compartment")

// Search implements Source: the resources of resourceType in q.Patient's
// compartment that match q, newest meta.lastUpdated first, then by id.
func (s *MemorySource) Search(_ context.Context, resourceType string, q Query) (Page, error) {
	if q.Patient == "" {
		return Page{}, errNoCompartment
	}
	if q.Count < 0 || q.Offset < 0 {
		return Page{}, fmt.Errorf("fhir: search %s: negative count or offset", resourceType)
	}
	s.mu.RLock()
	var matches []*stored
	for _, r := range s.owned[ownerKey(resourceType, q.Patient)] {
		if matchQuery(q, r) {
			matches = append(matches, r)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(matches, func(a, b *stored) int {
		if c := b.lastUpdated.Compare(a.lastUpdated); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	page := Page{Total: len(matches)}
	start := min(q.Offset, len(matches))
	for _, r := range matches[start:min(start+q.Count, len(matches))] {
		page.Entries = append(page.Entries, r.raw)
	}
	return page, nil
}

func matchQuery(q Query, r *stored) bool {
	if len(q.IDs) > 0 && !slices.Contains(q.IDs, r.id) {
		return false
	}
	for _, f := range q.LastUpdated {
		if !f.Match(r.lastUpdated) {
			return false
		}
	}
	return true
}

// index validates raw with golang-fhir-models and reads the fields the
// store is indexed by from the decoded struct.
func index(raw json.RawMessage) (*stored, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("not a resource: %w", err)
	}
	r := &stored{typ: head.ResourceType, raw: raw}
	var meta *models.Meta
	var ref *string
	var err error
	switch head.ResourceType {
	case "Patient":
		var p models.Patient
		p, err = models.UnmarshalPatient(raw)
		r.id, meta = deref(p.Id), p.Meta
		r.patient = r.id
	case "Coverage":
		var c models.Coverage
		c, err = models.UnmarshalCoverage(raw)
		r.id, meta, ref = deref(c.Id), c.Meta, c.Beneficiary.Reference
	case "ExplanationOfBenefit":
		var e models.ExplanationOfBenefit
		e, err = models.UnmarshalExplanationOfBenefit(raw)
		r.id, meta, ref = deref(e.Id), e.Meta, e.Patient.Reference
	default:
		return nil, fmt.Errorf("resource type %q is not served", head.ResourceType)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", head.ResourceType, err)
	}
	return r, r.check(meta, ref)
}

// check fills in and validates the id, lastUpdated and compartment.
func (r *stored) check(meta *models.Meta, ref *string) error {
	if !validID(r.id) {
		return fmt.Errorf("%s: id missing or not [A-Za-z0-9-.]{1,64}", r.typ)
	}
	if meta == nil || meta.LastUpdated == nil {
		return fmt.Errorf("%s/%s: meta.lastUpdated is required", r.typ, r.id)
	}
	t, err := time.Parse(time.RFC3339Nano, *meta.LastUpdated)
	if err != nil {
		return fmt.Errorf("%s/%s: meta.lastUpdated is not an instant: %w", r.typ, r.id, err)
	}
	r.lastUpdated = t
	if r.typ != "Patient" {
		id, ok := strings.CutPrefix(deref(ref), "Patient/")
		if !ok || !validID(id) {
			return fmt.Errorf("%s/%s: patient reference must be Patient/<id>", r.typ, r.id)
		}
		r.patient = id
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
