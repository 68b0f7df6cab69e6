package fhir

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// Paging and size limits of a search.
const (
	DefaultCount = 20
	MaxCount     = 100
	// ParamPage carries the signed cursor of a next link.
	ParamPage    = "_page"
	maxValues    = 100  // values of one parameter (comma-separated)
	maxValueLen  = 256  // characters of one value
	maxCursorLen = 4096 // characters of a _page cursor
	maxCriteria  = 20   // parameters in one search
)

// Criterion is one search parameter of a query. Its values are ORed (a
// comma in FHIR search); the criteria of a query are ANDed.
type Criterion struct {
	Param  catalog.Param
	Values []string     // validated, as the client wrote them
	dates  []DateFilter // for a date parameter, one per value
}

// String is the criterion as a query-string pair, values unescaped.
func (c Criterion) String() string { return c.Param.Name + "=" + strings.Join(c.Values, ",") }

// searchRequest is a validated search, before the compartment is applied.
type searchRequest struct {
	typ      *catalog.Type
	criteria []Criterion
	includes []catalog.Param
	include  []string // the _include values as written, for links
	count    int
	hasCount bool
	cursor   string // the _page value: a signed cursor, checked by the handler
}

// paramError is a search the server refuses: code is the OperationOutcome
// issue code, "not-supported" or "invalid".
type paramError struct{ code, msg string }

func (e *paramError) Error() string { return e.msg }

func unsupported(msg string) error { return &paramError{"not-supported", msg} }
func invalid(msg string) error     { return &paramError{"invalid", msg} }

// parseSearch validates the search parameters of a search on typ against
// the catalog. Unknown parameters and modifiers are refused, not ignored,
// so a client never mistakes a broader answer for the one it asked for
// (FHIR R4 search 3.1.1.2, handling=strict).
func parseSearch(typ *catalog.Type, v url.Values) (searchRequest, error) {
	s := searchRequest{typ: typ, count: DefaultCount}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, val := range v[name] {
			if val == "" {
				return s, invalid("parameter " + quoteName(name) + " has an empty value")
			}
			if err := s.set(name, val); err != nil {
				return s, err
			}
		}
	}
	if len(s.criteria) > maxCriteria {
		return s, invalid("a search may have at most " + strconv.Itoa(maxCriteria) + " parameters")
	}
	return s, nil
}

func (s *searchRequest) set(name, val string) error {
	switch name {
	case "_count":
		if s.hasCount {
			return invalid("parameter _count may appear only once")
		}
		n, err := parseInt("_count", val, 1, MaxCount)
		s.count, s.hasCount = n, true
		return err
	case "_format":
		return checkFormat(val)
	case "_include":
		return s.addInclude(val)
	case ParamPage:
		if s.cursor != "" || len(val) > maxCursorLen {
			return invalid("parameter _page must appear once and come from a next link")
		}
		s.cursor = val
		return nil
	}
	if strings.Contains(name, ":") {
		return unsupported("modifiers are not supported: " + quoteName(name))
	}
	p, ok := s.typ.Param(name)
	if !ok {
		if name == "patient" && s.typ.Name == "Patient" {
			return unsupported("parameter patient is not supported on Patient; use _id")
		}
		return unsupported("unknown search parameter " + quoteName(name) + " on " + s.typ.Name)
	}
	c, err := parseCriterion(p, val)
	if err != nil {
		return err
	}
	s.criteria = append(s.criteria, c)
	return nil
}

// parseCriterion splits a value on commas (FHIR's OR) and checks each part
// against the parameter's type.
func parseCriterion(p catalog.Param, val string) (Criterion, error) {
	c := Criterion{Param: p}
	if strings.ContainsRune(val, '\\') {
		return c, unsupported("escaped characters in search values are not supported")
	}
	parts := strings.Split(val, ",")
	if len(parts) > maxValues {
		return c, invalid(p.Name + " lists at most " + strconv.Itoa(maxValues) + " values")
	}
	for _, part := range parts {
		if part == "" || len(part) > maxValueLen || strings.IndexFunc(part, isControl) >= 0 {
			return c, invalid(p.Name + " has an empty, overlong or unprintable value")
		}
		if err := c.add(part); err != nil {
			return c, err
		}
	}
	return c, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func (c *Criterion) add(v string) error {
	p := c.Param
	switch {
	case p.Name == "_id":
		if !catalog.ValidID(v) {
			return invalid("_id values must be FHIR ids")
		}
	case p.Kind == catalog.Reference:
		if _, _, ok := parseReferenceValue(p, v); !ok {
			return invalid(p.Name + " must be an id or Type/id of " + strings.Join(p.Targets, ", "))
		}
	case p.Kind == catalog.Date:
		f, err := ParseDateFilter(v)
		if err != nil {
			return invalid(p.Name + " must be a FHIR date or dateTime with an optional prefix")
		}
		c.dates = append(c.dates, f)
	case p.Kind == catalog.Token:
		if strings.Count(v, "|") > 1 || v == "|" {
			return invalid(p.Name + " must be code, system|code, |code or system|")
		}
	}
	c.Values = append(c.Values, v)
	return nil
}

// parseReferenceValue reads a reference search value, "Type/id" or a bare
// id (which may be of any target type).
func parseReferenceValue(p catalog.Param, v string) (typ, id string, ok bool) {
	typ, id, hasType := strings.Cut(v, "/")
	if !hasType {
		typ, id = "", v
	}
	if !catalog.ValidID(id) || (hasType && !slices.Contains(p.Targets, typ)) {
		return "", "", false
	}
	return typ, id, true
}

// addInclude parses an _include value: Type:param, Type:param:Target or
// Type:* (FHIR R4 search 3.1.1.5.1). Type must be the searched type.
func (s *searchRequest) addInclude(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != s.typ.Name {
		return invalid("_include must be " + s.typ.Name + ":parameter")
	}
	var add []catalog.Param
	if parts[1] == "*" && len(parts) == 2 {
		add = s.typ.Includes
	} else if p, ok := s.typ.Include(parts[1]); ok {
		if len(parts) == 3 {
			if !slices.Contains(p.Targets, parts[2]) {
				return invalid("_include target " + quoteName(parts[2]) + " is not a target of " + p.Name)
			}
			p.Targets = []string{parts[2]}
		}
		add = []catalog.Param{p}
	} else {
		return unsupported("_include " + quoteName(v) + " is not supported")
	}
	if slices.Contains(s.include, v) {
		return nil
	}
	s.include = append(s.include, v)
	s.includes = append(s.includes, add...)
	return nil
}

func parseInt(name, v string, min, max int) (int, error) {
	msg := name + " must be an integer from " + strconv.Itoa(min) + " to " + strconv.Itoa(max)
	if len(v) > 9 || strings.Trim(v, "0123456789") != "" {
		return 0, invalid(msg)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, invalid(msg)
	}
	return n, nil
}

func checkFormat(v string) error {
	switch v {
	case "json", "application/json", "application/fhir+json":
		return nil
	}
	return unsupported("_format supports only json")
}

// quoteName quotes a client-supplied parameter name for a diagnostic,
// shortened so an error never echoes a large input.
func quoteName(name string) string {
	if len(name) > 40 {
		name = name[:40] + "..."
	}
	return strconv.Quote(name)
}

// values is the search as url.Values, one entry per criterion with its
// values comma-joined: the form smart.PermitsQuery checks restrictions on.
func (s searchRequest) values() url.Values {
	v := url.Values{}
	for _, c := range s.criteria {
		v.Add(c.Param.Name, strings.Join(c.Values, ","))
	}
	return v
}

// encode is the normalized query string of s without the cursor: the
// criteria in a fixed order, then the includes and _count. Links reproduce
// the search exactly, and a cursor is bound to it.
func (s searchRequest) encode() string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	crit := slices.Clone(s.criteria)
	slices.SortStableFunc(crit, func(a, b Criterion) int { return strings.Compare(a.Param.Name, b.Param.Name) })
	for _, c := range crit {
		add(c.Param.Name, strings.Join(c.Values, ","))
	}
	for _, inc := range slices.Sorted(slices.Values(s.include)) {
		add("_include", inc)
	}
	if s.hasCount {
		add("_count", strconv.Itoa(s.count))
	}
	return b.String()
}
