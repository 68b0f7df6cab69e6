package fhir

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// This file evaluates search parameters on a resource's JSON: for the
// embedded store's searches and for SMART v2 scope restrictions. It reads
// the element a catalog.Param names and compares by the parameter's type
// (FHIR R4 search.html: token, reference, date).

// decodeDoc decodes a resource for evaluation.
func decodeDoc(raw []byte) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// elements returns the values at a catalog path: one or more dot-separated
// paths joined by " | " (a FHIRPath union), arrays flattened at every step.
func elements(v any, path string) []any {
	var out []any
	for alt := range strings.SplitSeq(path, "|") {
		out = append(out, elementsAt(v, strings.TrimSpace(alt))...)
	}
	return out
}

// elementsAt returns the values at one dot-separated path.
func elementsAt(v any, path string) []any {
	cur := []any{v}
	for _, step := range strings.Split(path, ".") {
		var next []any
		for _, c := range cur {
			obj, ok := c.(map[string]any)
			if !ok {
				continue
			}
			switch x := obj[step].(type) {
			case nil:
			case []any:
				next = append(next, x...)
			default:
				next = append(next, x)
			}
		}
		cur = next
	}
	return cur
}

// matches reports whether some value of the criterion matches the resource.
func (c Criterion) matches(doc map[string]any) bool {
	elems := elements(doc, c.Param.Path)
	for i, v := range c.Values {
		for _, e := range elems {
			if c.matchOne(e, v, i) {
				return true
			}
		}
	}
	return false
}

func (c Criterion) matchOne(e any, v string, i int) bool {
	switch c.Param.Kind {
	case catalog.Token:
		return matchToken(e, v)
	case catalog.Reference:
		return matchReference(e, c.Param, v)
	case catalog.Date:
		return i < len(c.dates) && matchDate(e, c.dates[i])
	}
	return false
}

// matchToken compares a token value (code, system|code, |code, system|)
// with a code, Coding, CodeableConcept or Identifier.
func matchToken(e any, v string) bool {
	system, code, hasSystem := strings.Cut(v, "|")
	if !hasSystem {
		system, code = "", v
	}
	match := func(sys, c string) bool {
		return (!hasSystem || sys == system) && (code == "" || c == code)
	}
	switch x := e.(type) {
	case string:
		return !hasSystem && x == code
	case map[string]any:
		if codings, ok := x["coding"].([]any); ok { // CodeableConcept
			for _, cd := range codings {
				if m, ok := cd.(map[string]any); ok && match(str(m["system"]), str(m["code"])) {
					return true
				}
			}
			return false
		}
		if _, ok := x["value"]; ok { // Identifier
			return match(str(x["system"]), str(x["value"]))
		}
		return match(str(x["system"]), str(x["code"])) // Coding
	}
	return false
}

// matchReference compares "Type/id" or a bare id with a Reference's
// relative reference.
func matchReference(e any, p catalog.Param, v string) bool {
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	typ, id, ok := parseReferenceValue(p, v)
	if !ok {
		return false
	}
	gotType, gotID, ok := strings.Cut(str(m["reference"]), "/")
	return ok && gotID == id && (typ == "" || gotType == typ)
}

// matchDate compares a date filter with a date, dateTime or instant (the
// range of its precision) or a Period (open on a side it does not give).
// A value that is not a FHIR date matches nothing.
func matchDate(e any, f DateFilter) bool {
	r, ok := dateRangeOf(e)
	return ok && f.MatchRange(r)
}

// dateRangeOf reads the range a date element stands for.
func dateRangeOf(e any) (DateRange, bool) {
	if s, ok := e.(string); ok {
		r, err := parseDateElement(s)
		return r, err == nil
	}
	m, ok := e.(map[string]any)
	if !ok {
		return DateRange{}, false
	}
	var r DateRange
	start, end := str(m["start"]), str(m["end"])
	if start == "" && end == "" {
		return DateRange{}, false
	}
	if start == "" {
		r.OpenStart = true
	} else if s, err := parseDateElement(start); err == nil {
		r.Start = s.Start
	} else {
		return DateRange{}, false
	}
	if end == "" {
		r.OpenEnd = true
	} else if e, err := parseDateElement(end); err == nil {
		r.End = e.End
	} else {
		return DateRange{}, false
	}
	return r, true
}

// parseDateElement reads a date, dateTime or instant of a resource: the
// search value grammar, or an RFC 3339 instant (which may carry more
// fractional digits, taken as its own precision).
func parseDateElement(s string) (DateRange, error) {
	if r, err := ParseDateValue(s); err == nil {
		return r, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return DateRange{}, err
	}
	return PointRange(t), nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// restrictionMatcher evaluates SMART v2 scope restrictions on one resource
// of typ. A restriction naming a parameter the catalog does not serve for
// the type, or a value it cannot parse, matches nothing: deny by default.
func restrictionMatcher(typ *catalog.Type, raw []byte) func(url.Values) bool {
	return func(q url.Values) bool {
		doc, err := decodeDoc(raw)
		if err != nil {
			return false
		}
		for name, values := range q {
			p, ok := typ.Param(name)
			if !ok {
				return false
			}
			for _, v := range values {
				c, err := parseCriterion(p, v)
				if err != nil || !c.matches(doc) {
					return false
				}
			}
		}
		return true
	}
}
