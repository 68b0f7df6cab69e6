package fhir

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Paging and page-size limits.
const (
	DefaultCount = 20
	MaxCount     = 100
	// ParamOffset is the paging parameter: how many matches to skip.
	ParamOffset = "_offset"
	maxOffset   = 1_000_000
	maxIDs      = 100
)

// searchRequest is a validated search, before the compartment is applied.
type searchRequest struct {
	ids         []string
	lastUpdated []DateFilter
	rawUpdated  []string // the _lastUpdated values as given, for links
	patient     string   // the patient parameter's id, when given
	hasPatient  bool
	count       int
	hasCount    bool
	offset      int
	hasOffset   bool
}

// paramError is a search the server refuses: Code is the
// OperationOutcome issue code, "not-supported" or "invalid".
type paramError struct{ code, msg string }

func (e *paramError) Error() string { return e.msg }

func unsupported(msg string) error { return &paramError{"not-supported", msg} }
func invalid(msg string) error     { return &paramError{"invalid", msg} }

// parseSearch validates the search parameters of a search on resourceType.
// Unknown parameters and modifiers are refused, not ignored, so a client
// never mistakes a broader answer for the one it asked for.
func parseSearch(resourceType string, v url.Values) (searchRequest, error) {
	s := searchRequest{count: DefaultCount}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		values := v[name]
		for _, val := range values {
			if val == "" {
				return s, invalid("parameter " + quoteName(name) + " has an empty value")
			}
		}
		if err := s.set(resourceType, name, values); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (s *searchRequest) set(resourceType, name string, values []string) error {
	if name != "_lastUpdated" && len(values) > 1 {
		return invalid("parameter " + quoteName(name) + " may appear only once")
	}
	var err error
	switch name {
	case "_id":
		s.ids, err = parseIDs(values[0])
	case "_lastUpdated":
		err = s.parseLastUpdated(values)
	case "patient":
		if resourceType == "Patient" {
			return unsupported("parameter patient is not supported on Patient; use _id")
		}
		s.patient, err = parsePatientRef(values[0])
		s.hasPatient = true
	case "_count":
		s.count, err = parseInt("_count", values[0], 1, MaxCount)
		s.hasCount = true
	case ParamOffset:
		s.offset, err = parseInt(ParamOffset, values[0], 0, maxOffset)
		s.hasOffset = true
	case "_format":
		err = checkFormat(values[0])
	default:
		if strings.Contains(name, ":") {
			return unsupported("modifiers are not supported: " + quoteName(name))
		}
		return unsupported("unknown search parameter " + quoteName(name))
	}
	return err
}

func parseIDs(v string) ([]string, error) {
	ids := strings.Split(v, ",")
	if len(ids) > maxIDs {
		return nil, invalid("_id lists at most 100 ids")
	}
	for _, id := range ids {
		if !validID(id) {
			return nil, invalid("_id values must be FHIR ids")
		}
	}
	return ids, nil
}

func (s *searchRequest) parseLastUpdated(values []string) error {
	for _, val := range values {
		if len(val) >= 2 && strings.Contains(" sa eb ap ne ", " "+val[:2]+" ") {
			return unsupported("_lastUpdated supports the prefixes eq, gt, ge, lt and le")
		}
		f, err := ParseDateFilter(val)
		if err != nil {
			return invalid("_lastUpdated must be a FHIR date or dateTime with an optional prefix")
		}
		s.lastUpdated = append(s.lastUpdated, f)
		s.rawUpdated = append(s.rawUpdated, val)
	}
	return nil
}

func parsePatientRef(v string) (string, error) {
	id := strings.TrimPrefix(v, "Patient/")
	if !validID(id) {
		return "", invalid("patient must be a Patient id or Patient/<id>")
	}
	return id, nil
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

// encode is the normalized query string of s, with the given offset when
// withOffset: the parameters the client sent, in a fixed order, so paging
// links reproduce the search exactly.
func (s searchRequest) encode(offset int, withOffset bool) string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	if len(s.ids) > 0 {
		add("_id", strings.Join(s.ids, ","))
	}
	for _, v := range s.rawUpdated {
		add("_lastUpdated", v)
	}
	if s.hasPatient {
		add("patient", s.patient)
	}
	if s.hasCount {
		add("_count", strconv.Itoa(s.count))
	}
	if withOffset {
		add(ParamOffset, strconv.Itoa(offset))
	}
	return b.String()
}
