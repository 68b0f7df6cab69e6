package fhir

import (
	"errors"
	"net/url"
	"slices"
	"testing"
)

func TestParseSearch(t *testing.T) {
	tests := []struct {
		typ, query string
		ids        []string
		patient    string
		count      int
		offset     int
		filters    int
		encoded    string
	}{
		{"Coverage", "", nil, "", DefaultCount, 0, 0, ""},
		{"Coverage", "_id=a,b.c&_count=5", []string{"a", "b.c"}, "", 5, 0, 0, "_id=a%2Cb.c&_count=5"},
		{"Coverage", "patient=Patient/p1", nil, "p1", DefaultCount, 0, 0, "patient=p1"},
		{"Coverage", "patient=p1&_offset=40&_format=json", nil, "p1", DefaultCount, 40, 0, "patient=p1&_offset=40"},
		{"Patient", "_lastUpdated=ge2024&_lastUpdated=lt2024-06-01T00:00:00%2B02:00", nil, "", DefaultCount, 0, 2,
			"_lastUpdated=ge2024&_lastUpdated=lt2024-06-01T00%3A00%3A00%2B02%3A00"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			s, err := parseSearch(tt.typ, v)
			if err != nil {
				t.Fatalf("parseSearch: %v", err)
			}
			if !slices.Equal(s.ids, tt.ids) || s.patient != tt.patient || s.count != tt.count || s.offset != tt.offset ||
				len(s.lastUpdated) != tt.filters {
				t.Fatalf("parsed %+v", s)
			}
			if got := s.encode(s.offset, s.hasOffset); got != tt.encoded {
				t.Fatalf("encode = %q, want %q", got, tt.encoded)
			}
		})
	}
}

func TestParseSearchErrorsAreParamErrors(t *testing.T) {
	for _, q := range []string{"x=1", "_id=", "_count=1000", "_sort=-_lastUpdated", "_summary=count", "patient:missing=true"} {
		v, _ := url.ParseQuery(q)
		_, err := parseSearch("Coverage", v)
		var pe *paramError
		if !errors.As(err, &pe) || pe.msg == "" {
			t.Errorf("%s: %v is not a paramError with a message", q, err)
		}
	}
}

// FuzzParseSearch pins that the parser never panics, that what it accepts
// is within limits, and that paging links reproduce the same search.
func FuzzParseSearch(f *testing.F) {
	for _, q := range []string{"", "_id=a,b", "_count=2&_offset=4", "patient=Patient/x", "_lastUpdated=ge2024-01-01T00:00:00Z",
		"_lastUpdated=2024&_lastUpdated=lt2025-02", "_format=json", "_id:missing=1", "_count=%2B1", "x=%zz"} {
		f.Add("Coverage", q)
	}
	f.Add("Patient", "patient=x")
	f.Fuzz(func(t *testing.T, typ, query string) {
		v, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		s, err := parseSearch(typ, v)
		if err != nil {
			var pe *paramError
			if !errors.As(err, &pe) || (pe.code != "invalid" && pe.code != "not-supported") {
				t.Fatalf("error %v is not a paramError", err)
			}
			return
		}
		if s.count < 1 || s.count > MaxCount || s.offset < 0 || s.offset > maxOffset || (s.hasPatient && !validID(s.patient)) {
			t.Fatalf("accepted out of limits: %+v", s)
		}
		for _, id := range s.ids {
			if !validID(id) {
				t.Fatalf("accepted id %q", id)
			}
		}
		for _, withOffset := range []bool{false, true} {
			enc := s.encode(s.offset+7, withOffset)
			v2, err := url.ParseQuery(enc)
			if err != nil {
				t.Fatalf("link query %q does not parse: %v", enc, err)
			}
			s2, err := parseSearch(typ, v2)
			if err != nil || s2.encode(s2.offset, withOffset) != enc || !slices.Equal(s2.ids, s.ids) || s2.patient != s.patient ||
				s2.count != s.count || len(s2.lastUpdated) != len(s.lastUpdated) {
				t.Fatalf("link %q does not reproduce %q: %+v, %v", enc, query, s2, err)
			}
		}
	})
}
