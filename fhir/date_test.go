package fhir

import (
	"errors"
	"testing"
	"time"
)

func TestParseDateFilter(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		in         string
		prefix     string
		start, end string
	}{
		{"2024", "eq", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"ge2024-02", "ge", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"lt2024-02-29", "lt", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"gt2024-12-31", "gt", "2024-12-31T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"le2024-03-01T10:00Z", "le", "2024-03-01T10:00:00Z", "2024-03-01T10:01:00Z"},
		{"eq2024-03-01T10:00:05+02:00", "eq", "2024-03-01T08:00:05Z", "2024-03-01T08:00:06Z"},
		{"2024-03-01T10:00:05.5-05:00", "eq", "2024-03-01T15:00:05.5Z", "2024-03-01T15:00:05.6Z"},
		{"2024-03-01T10:00:05.123Z", "eq", "2024-03-01T10:00:05.123Z", "2024-03-01T10:00:05.124Z"},
		{"2024-03-01T10:00", "eq", "2024-03-01T10:00:00Z", "2024-03-01T10:01:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, err := ParseDateFilter(tt.in)
			if err != nil {
				t.Fatalf("ParseDateFilter: %v", err)
			}
			if f.Prefix != tt.prefix || !f.Start.Equal(utc(tt.start)) || !f.End.Equal(utc(tt.end)) {
				t.Fatalf("got %s [%s, %s), want %s [%s, %s)", f.Prefix, f.Start, f.End, tt.prefix, tt.start, tt.end)
			}
		})
	}
}

func TestParseDateFilterRejects(t *testing.T) {
	for _, in := range []string{
		"", "eq", "xx2024", "ng2024", "ne", "ap2024-", "sa24", "24", "02024", "2024-1", "2024-13", "2024-00", "2023-02-29",
		"2024-04-31", "2024-01-01T", "2024-01-01T24:00Z", "2024-01-01T10:60Z", "2024-01-01T10:00:60Z",
		"2024-01-01T10Z", "2024-01-01T10:00:00.Z", "2024-01-01T10:00:00.1234567890Z", "2024-01-01T10:00+1:00",
		"2024-01-01T10:00+15:00", "2024-01T10:00Z", "2024-01-01 10:00Z", "0000", "2024/01/01", "+2024",
		"2024-01-01T10:00:00ZZ", "2024-01-01T1a:00Z", "2024-01-01T10:00:0aZ",
	} {
		if f, err := ParseDateFilter(in); err == nil || !errors.Is(err, errDate) {
			t.Errorf("ParseDateFilter(%q) = %+v, %v; want an errDate", in, f, err)
		}
	}
}

func TestDateFilterMatch(t *testing.T) {
	day, err := ParseDateFilter("2024-03-01")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	inside := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	end := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	want := map[string][4]bool{ // before, start, inside, end
		"eq": {false, true, true, false},
		"gt": {false, false, false, true},
		"ge": {false, true, true, true},
		"lt": {true, false, false, false},
		"le": {true, true, true, false},
		"ne": {true, false, false, true},
		"sa": {false, false, false, true},
		"eb": {true, false, false, false},
		"ap": {false, true, true, false},
	}
	for prefix, w := range want {
		f := day
		f.Prefix = prefix
		for i, at := range []time.Time{before, start, inside, end} {
			if got := f.Match(at); got != w[i] {
				t.Errorf("%s2024-03-01 Match(%s) = %v, want %v", prefix, at, got, w[i])
			}
		}
	}
}

// TestDateFilterMatchRange pins FHIR's range semantics when the target is
// itself a range: a date of lower precision (a whole day) or a Period,
// possibly open on one side.
func TestDateFilterMatchRange(t *testing.T) {
	day := func(s string) DateRange {
		t.Helper()
		r, err := ParseDateValue(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	span := func(from, to string) DateRange {
		a, b := day(from), day(to)
		return DateRange{Start: a.Start, End: b.End}
	}
	openEnd := DateRange{Start: day("2024-03-10").Start, OpenEnd: true}
	openStart := DateRange{End: day("2024-02-10").End, OpenStart: true}
	tests := []struct {
		filter string
		target DateRange
		want   bool
	}{
		{"eq2024-03", day("2024-03-05"), true},  // the month contains the day
		{"eq2024-03-05", day("2024-03"), false}, // the day does not contain the month
		{"eq2024-03-05", day("2024-03-05T10:00:00Z"), true},
		{"eq2024-03", span("2024-02-28", "2024-03-02"), false}, // straddles the start
		{"ne2024-03", span("2024-02-28", "2024-03-02"), true},
		{"ne2024-03", day("2024-03-31"), false},
		{"gt2024-03-01", span("2024-02-28", "2024-03-02"), true}, // ends after the search day
		{"gt2024-03-02", span("2024-02-28", "2024-03-02"), false},
		{"lt2024-03-01", span("2024-02-28", "2024-03-02"), true}, // starts before it
		{"lt2024-02-28", span("2024-02-28", "2024-03-02"), false},
		{"ge2024-03-02", day("2024-03-02"), true},
		{"ge2024-03-03", day("2024-03-02"), false},
		{"le2024-03-02", day("2024-03-02"), true},
		{"le2024-03-01", day("2024-03-02"), false},
		{"sa2024-02-27", span("2024-02-28", "2024-03-02"), true},
		{"sa2024-02-28", span("2024-02-28", "2024-03-02"), false},
		{"eb2024-03-03", span("2024-02-28", "2024-03-02"), true},
		{"eb2024-03-02", span("2024-02-28", "2024-03-02"), false},
		{"ap2024-03-02", span("2024-02-28", "2024-03-02"), true},
		{"ap2024-03-03", span("2024-02-28", "2024-03-02"), false},
		{"gt2030", openEnd, true}, // an open end goes on for ever
		{"sa2030", openEnd, false},
		{"sa2023", openEnd, true},
		{"eb2030", openEnd, false},
		{"eq2024", openEnd, false},
		{"lt2000", openStart, true},
		{"sa2000", openStart, false},
		{"eb2024-02-11", openStart, true},
		{"ap2024-02", openStart, true},
	}
	for _, tt := range tests {
		f, err := ParseDateFilter(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.MatchRange(tt.target); got != tt.want {
			t.Errorf("%s on %+v = %v, want %v", tt.filter, tt.target, got, tt.want)
		}
	}
}

// FuzzParseDateFilter checks the parser never panics and that whatever it
// accepts is a known prefix with a non-empty range.
func FuzzParseDateFilter(f *testing.F) {
	for _, s := range []string{"2024", "ge2024-02", "lt2024-02-29", "le2024-03-01T10:00Z",
		"2024-03-01T10:00:05.5-05:00", "gt2024-01-01T00:00:00+14:00", "eq9999-12-31T23:59:59.999999999Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDateFilter(s)
		if err != nil {
			return
		}
		switch d.Prefix {
		case "eq", "ne", "gt", "ge", "lt", "le", "sa", "eb", "ap":
		default:
			t.Fatalf("ParseDateFilter(%q) accepted prefix %q", s, d.Prefix)
		}
		if !d.Start.Before(d.End) {
			t.Fatalf("ParseDateFilter(%q) gave an empty range [%s, %s)", s, d.Start, d.End)
		}
	})
}
