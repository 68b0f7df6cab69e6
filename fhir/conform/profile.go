package conform

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// carinBase is the canonical base of the IG's StructureDefinitions.
const carinBase = "http://hl7.org/fhir/us/carin-bb/"

// profile is one StructureDefinition's snapshot as a tree of elements.
type profile struct {
	url, version, name, typ, base string
	root                          *element
	all                           []*element // snapshot order
	invariants                    []string   // constraint keys the IG adds
}

// element is one ElementDefinition of a snapshot.
type element struct {
	id      string
	name    string // last path segment: "status", "serviced[x]"
	slice   string // slice name, for an element that is a slice
	min     int
	max     int // -1: unbounded
	baseMin int
	baseMax int
	types   []elementType
	fixed   any // decoded fixed[x], nil when none
	pattern any // decoded pattern[x], nil when none
	binding *binding
	must    bool // mustSupport
	slicing *slicing

	children []*element
	slices   []*element
}

type elementType struct {
	Code          string   `json:"code"`
	Profile       []string `json:"profile"`
	TargetProfile []string `json:"targetProfile"`
}

type binding struct {
	Strength string `json:"strength"`
	ValueSet string `json:"valueSet"`
}

type discriminator struct {
	Type string `json:"type"`
	Path string `json:"path"`
}

type slicing struct {
	Discriminator []discriminator `json:"discriminator"`
	Rules         string          `json:"rules"`
}

type rawCard struct {
	Min int    `json:"min"`
	Max string `json:"max"`
}

func parseProfile(data []byte) (*profile, error) {
	var sd struct {
		URL            string `json:"url"`
		Version        string `json:"version"`
		Name           string `json:"name"`
		Type           string `json:"type"`
		BaseDefinition string `json:"baseDefinition"`
		Snapshot       struct {
			Element []map[string]json.RawMessage `json:"element"`
		} `json:"snapshot"`
	}
	if err := json.Unmarshal(data, &sd); err != nil {
		return nil, err
	}
	if len(sd.Snapshot.Element) == 0 {
		return nil, fmt.Errorf("%s has no snapshot", sd.URL)
	}
	p := &profile{url: sd.URL, version: sd.Version, name: sd.Name, typ: sd.Type, base: sd.BaseDefinition}
	byID := map[string]*element{}
	for i, raw := range sd.Snapshot.Element {
		e, err := parseElement(raw)
		if err != nil {
			return nil, fmt.Errorf("%s element %d: %w", sd.URL, i, err)
		}
		for _, k := range invariantKeys(raw) {
			if !slices.Contains(p.invariants, k) {
				p.invariants = append(p.invariants, k)
			}
		}
		if i == 0 {
			p.root = e
		} else if err := attach(byID, e); err != nil {
			return nil, fmt.Errorf("%s: %w", sd.URL, err)
		}
		byID[e.id] = e
		p.all = append(p.all, e)
	}
	return p, nil
}

// attach hangs e under its parent, or under the element it slices.
func attach(byID map[string]*element, e *element) error {
	dot := strings.LastIndex(e.id, ".")
	if dot < 0 {
		return fmt.Errorf("element %s has no parent", e.id)
	}
	last := e.id[dot+1:]
	name, slice, sliced := strings.Cut(last, ":")
	e.name, e.slice = name, slice
	if sliced {
		owner := byID[e.id[:dot+1]+name]
		if owner == nil {
			return fmt.Errorf("slice %s of no element", e.id)
		}
		owner.slices = append(owner.slices, e)
		return nil
	}
	parent := byID[e.id[:dot]]
	if parent == nil {
		return fmt.Errorf("element %s has no parent", e.id)
	}
	parent.children = append(parent.children, e)
	return nil
}

func parseElement(raw map[string]json.RawMessage) (*element, error) {
	var e struct {
		ID          string        `json:"id"`
		Min         int           `json:"min"`
		Max         string        `json:"max"`
		Base        rawCard       `json:"base"`
		Type        []elementType `json:"type"`
		Binding     *binding      `json:"binding"`
		MustSupport bool          `json:"mustSupport"`
		Slicing     *slicing      `json:"slicing"`
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	out := &element{id: e.ID, min: e.Min, max: parseMax(e.Max), baseMin: e.Base.Min, baseMax: parseMax(e.Base.Max),
		types: e.Type, must: e.MustSupport, slicing: e.Slicing}
	if e.Binding != nil && e.Binding.Strength == "required" {
		out.binding = e.Binding
	}
	for k, v := range raw {
		var dst *any
		switch {
		case strings.HasPrefix(k, "fixed"):
			dst = &out.fixed
		case strings.HasPrefix(k, "pattern"):
			dst = &out.pattern
		default:
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return nil, fmt.Errorf("%s %s: %w", e.ID, k, err)
		}
	}
	return out, nil
}

func parseMax(s string) int {
	if s == "*" || s == "" {
		return -1
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func invariantKeys(raw map[string]json.RawMessage) []string {
	var c struct {
		Constraint []struct {
			Key    string `json:"key"`
			Source string `json:"source"`
		} `json:"constraint"`
	}
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &c)
	var keys []string
	for _, k := range c.Constraint {
		if strings.HasPrefix(k.Source, carinBase) {
			keys = append(keys, k.Key)
		}
	}
	return keys
}

// child returns e's child element named name.
func (e *element) child(name string) *element {
	for _, c := range e.children {
		if c.name == name {
			return c
		}
	}
	return nil
}
