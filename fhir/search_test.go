package fhir

import (
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/patientaccess/gateway/fhir/catalog"
)

func lookup(t testing.TB, name string) *catalog.Type {
	typ, ok := catalog.Lookup(name)
	if !ok {
		t.Fatalf("catalog has no %s", name)
	}
	return typ
}

func TestParseSearch(t *testing.T) {
	tests := []struct {
		typ, query string
		criteria   []string
		count      int
		encoded    string
	}{
		{"Coverage", "", nil, DefaultCount, ""},
		{"Coverage", "_id=a,b.c&_count=5", []string{"_id=a,b.c"}, 5, "_id=a%2Cb.c&_count=5"},
		{"Coverage", "patient=Patient/p1", []string{"patient=Patient/p1"}, DefaultCount, "patient=Patient%2Fp1"},
		{"Coverage", "patient=p1&_format=json", []string{"patient=p1"}, DefaultCount, "patient=p1"},
		{"Patient", "_lastUpdated=ge2024&_lastUpdated=lt2024-06-01T00:00:00%2B02:00", []string{"_lastUpdated=ge2024", "_lastUpdated=lt2024-06-01T00:00:00+02:00"}, DefaultCount,
			"_lastUpdated=ge2024&_lastUpdated=lt2024-06-01T00%3A00%3A00%2B02%3A00"},
		{"ExplanationOfBenefit", "type=http://x|pharmacy&_include=ExplanationOfBenefit:patient&_include=ExplanationOfBenefit:insurer",
			[]string{"type=http://x|pharmacy"}, DefaultCount,
			"type=http%3A%2F%2Fx%7Cpharmacy&_include=ExplanationOfBenefit%3Ainsurer&_include=ExplanationOfBenefit%3Apatient"},
		{"Patient", "identifier=urn:plan|M-1", []string{"identifier=urn:plan|M-1"}, DefaultCount, "identifier=urn%3Aplan%7CM-1"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			s, err := parseSearch(lookup(t, tt.typ), v)
			if err != nil {
				t.Fatalf("parseSearch: %v", err)
			}
			var got []string
			for _, c := range s.criteria {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tt.criteria) || s.count != tt.count {
				t.Fatalf("parsed %v count %d, want %v %d", got, s.count, tt.criteria, tt.count)
			}
			if enc := s.encode(); enc != tt.encoded {
				t.Fatalf("encode = %q, want %q", enc, tt.encoded)
			}
		})
	}
}

func TestParseSearchErrorsAreParamErrors(t *testing.T) {
	for _, q := range []string{"x=1", "_id=", "_count=1000", "_count=1&_count=2", "_sort=-_lastUpdated", "_summary=count",
		"patient:missing=true", "patient=Organization/o1", "patient=a,,b", "type=a|b|c", "_include=Coverage:payor",
		"_include=ExplanationOfBenefit:nope", "_include=ExplanationOfBenefit:provider:Basic", "_lastUpdated=xx2024", "_offset=2",
		"_id=a\\,b", "_page=a&_page=b"} {
		v, _ := url.ParseQuery(q)
		_, err := parseSearch(lookup(t, "ExplanationOfBenefit"), v)
		var pe *paramError
		if !errors.As(err, &pe) || pe.msg == "" {
			t.Errorf("%s: %v is not a paramError with a message", q, err)
		}
	}
	v, _ := url.ParseQuery("patient=x")
	if _, err := parseSearch(lookup(t, "Patient"), v); err == nil {
		t.Error("patient= on Patient was accepted")
	}
}

// FuzzParseSearch pins that the parser never panics, that what it accepts
// is within limits, and that the normalized search it links to parses to
// the same search.
func FuzzParseSearch(f *testing.F) {
	for _, q := range []string{"", "_id=a,b", "_count=2", "patient=Patient/x", "_lastUpdated=ge2024-01-01T00:00:00Z",
		"_lastUpdated=2024&_lastUpdated=lt2025-02", "_format=json", "_id:missing=1", "_count=%2B1", "x=%zz",
		"type=s|c,d&identifier=|x", "_include=ExplanationOfBenefit:*", "_page=abc.def"} {
		f.Add("ExplanationOfBenefit", q)
	}
	f.Add("Patient", "patient=x")
	f.Fuzz(func(t *testing.T, typ, query string) {
		ct, ok := catalog.Lookup(typ)
		v, err := url.ParseQuery(query)
		if !ok || err != nil {
			return
		}
		s, err := parseSearch(ct, v)
		if err != nil {
			var pe *paramError
			if !errors.As(err, &pe) || (pe.code != "invalid" && pe.code != "not-supported") {
				t.Fatalf("error %v is not a paramError", err)
			}
			return
		}
		if s.count < 1 || s.count > MaxCount || len(s.criteria) > maxCriteria || len(s.cursor) > maxCursorLen {
			t.Fatalf("accepted out of limits: %+v", s)
		}
		for _, c := range s.criteria {
			if _, known := ct.Param(c.Param.Name); !known || len(c.Values) == 0 || len(c.Values) > maxValues {
				t.Fatalf("accepted criterion %v", c)
			}
			if c.Param.Name == "_id" && slices.ContainsFunc(c.Values, func(id string) bool { return !catalog.ValidID(id) }) {
				t.Fatalf("accepted ids %v", c.Values)
			}
		}
		enc := s.encode()
		v2, err := url.ParseQuery(enc)
		if err != nil {
			t.Fatalf("link query %q does not parse: %v", enc, err)
		}
		s2, err := parseSearch(ct, v2)
		if err != nil || s2.encode() != enc || len(s2.criteria) != len(s.criteria) || s2.count != s.count {
			t.Fatalf("link %q does not reproduce %q: %+v, %v", enc, query, s2, err)
		}
	})
}
