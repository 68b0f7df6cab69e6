package conform

import "sync"

// BaseValidator is Validator.Base alone, for a process that checks base
// FHIR and never a profile (the embedded store's intake). It keeps of a
// package only what Base walks: the element tree of each resource type's
// own profile, each element's name, JSON types and base cardinality. A
// Validator keeps every profile with its slices, fixed and pattern values
// and bindings, the expanded value sets and HL7's examples: 1.55 MB of
// heap for the embedded package, against about 0.2 MB here
// (TestBaseValidatorHeap).
type BaseValidator struct{ v *Validator }

var defaultBase = sync.OnceValues(func() (*BaseValidator, error) { return LoadBase(packageTGZ) })

// DefaultBase returns the BaseValidator of the embedded C4BB 2.0.0
// package, read once.
func DefaultBase() (*BaseValidator, error) { return defaultBase() }

// LoadBase reads a FHIR package tarball as Load does and keeps what Base
// needs.
func LoadBase(tgz []byte) (*BaseValidator, error) {
	full, err := Load(tgz)
	if err != nil {
		return nil, err
	}
	v := &Validator{byType: make(map[string]*profile, len(full.byType)), terms: newTerminology()}
	for typ, p := range full.byType {
		v.byType[typ] = &profile{url: p.url, version: p.version, name: p.name, typ: p.typ, base: p.base, root: baseElement(p.root)}
	}
	return &BaseValidator{v: v}, nil
}

// baseElement copies what a base FHIR walk reads of e and its children.
func baseElement(e *element) *element {
	out := &element{id: e.id, name: e.name, min: e.baseMin, max: e.baseMax, baseMin: e.baseMin, baseMax: e.baseMax}
	if len(e.types) > 0 {
		out.types = make([]elementType, len(e.types))
		for i, t := range e.types {
			out.types[i] = elementType{Code: t.Code}
		}
	}
	if len(e.children) > 0 {
		out.children = make([]*element, len(e.children))
		for i, c := range e.children {
			out.children[i] = baseElement(c)
		}
	}
	return out
}

// Base is Validator.Base: it checks raw against base FHIR R4 as the
// package's snapshots state it, for the resource types a profile of the
// package covers; handled is false for other types.
func (b *BaseValidator) Base(raw []byte) (issues []Issue, handled bool, err error) {
	return b.v.Base(raw)
}
