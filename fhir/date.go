package fhir

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DateFilter is one date search condition: a prefix and the implicit
// range [Start, End) of the value's precision (FHIR R4 search §3.1.1.4.5
// "date"). 2024 means the whole year, 2024-03-01T10:00Z the whole minute.
type DateFilter struct {
	Prefix     string // eq, ne, gt, ge, lt, le, sa, eb or ap
	Start, End time.Time
}

// DateRange is the range [Start, End) a target value stands for: a date
// or dateTime of some precision (the whole day of 2024-03-01), an instant
// (one point), or a Period. A Period without a start (or end) is open on
// that side.
type DateRange struct {
	Start, End         time.Time
	OpenStart, OpenEnd bool
}

// PointRange is the range of one instant: [t, t+1ns).
func PointRange(t time.Time) DateRange { return DateRange{Start: t, End: t.Add(time.Nanosecond)} }

// Match reports whether instant t satisfies the filter (see MatchRange).
func (f DateFilter) Match(t time.Time) bool { return f.MatchRange(PointRange(t)) }

// MatchRange compares the search range [Start, End) with a target range as
// FHIR R4 search §3.1.1.4.5 defines each prefix:
//
//   - eq: the search range fully contains the target;
//   - ne: it does not;
//   - gt: the range above the search value intersects the target (the
//     target ends after the search range);
//   - lt: the range below the search value intersects the target (the
//     target starts before the search range);
//   - ge: gt or eq; le: lt or eq;
//   - sa: the target starts after the search range ends;
//   - eb: the target ends before the search range starts;
//   - ap: the two ranges overlap (FHIR leaves "approximately" to the
//     server; this one reads it as overlap, with no extra margin).
//
// An open side of the target extends without bound.
func (f DateFilter) MatchRange(r DateRange) bool {
	contains := !r.OpenStart && !r.OpenEnd && !r.Start.Before(f.Start) && !r.End.After(f.End)
	above := r.OpenEnd || r.End.After(f.End)
	below := r.OpenStart || r.Start.Before(f.Start)
	switch f.Prefix {
	case "eq":
		return contains
	case "ne":
		return !contains
	case "gt":
		return above
	case "ge":
		return above || contains
	case "lt":
		return below
	case "le":
		return below || contains
	case "sa":
		return !r.OpenStart && !r.Start.Before(f.End)
	case "eb":
		return !r.OpenEnd && !r.End.After(f.Start)
	case "ap":
		return (r.OpenStart || r.Start.Before(f.End)) && (r.OpenEnd || r.End.After(f.Start))
	}
	return false
}

// errDate is wrapped by every date parse error.
var errDate = errors.New("invalid date")

// ParseDateFilter parses a date search value: an optional prefix (eq, ne,
// gt, ge, lt, le, sa, eb, ap; eq if none) and a FHIR date or dateTime of
// any precision — YYYY, YYYY-MM, YYYY-MM-DD, or
// YYYY-MM-DDThh:mm[:ss[.fff]] with an optional zone (Z or ±hh:mm). A date,
// or a time without a zone, is read as UTC.
func ParseDateFilter(s string) (DateFilter, error) {
	prefix := "eq"
	if len(s) >= 2 && s[0] >= 'a' && s[0] <= 'z' {
		prefix = s[:2]
		s = s[2:]
		switch prefix {
		case "eq", "ne", "gt", "ge", "lt", "le", "sa", "eb", "ap":
		default:
			return DateFilter{}, fmt.Errorf("%w: unsupported prefix", errDate)
		}
	}
	start, end, err := parseDateRange(s)
	if err != nil {
		return DateFilter{}, err
	}
	return DateFilter{Prefix: prefix, Start: start, End: end}, nil
}

// ParseDateValue reads a date, dateTime or instant held in a resource as
// the range its precision stands for (a dateTime with seconds is the whole
// second, a date the whole day).
func ParseDateValue(s string) (DateRange, error) {
	start, end, err := parseDateRange(s)
	if err != nil {
		return DateRange{}, err
	}
	return DateRange{Start: start, End: end}, nil
}

// parseDateRange returns the range [start, end) a FHIR date/dateTime of
// some precision denotes.
func parseDateRange(s string) (time.Time, time.Time, error) {
	bad := func(why string) (time.Time, time.Time, error) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: %s", errDate, why)
	}
	date, clock, hasTime := strings.Cut(s, "T")
	y, m, d, prec, ok := parseDatePart(date)
	if !ok {
		return bad("want YYYY, YYYY-MM or YYYY-MM-DD")
	}
	if !hasTime {
		start := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		return start, addPrecision(start, prec), nil
	}
	if prec != precDay {
		return bad("a time needs a full date")
	}
	c, ok := parseClock(clock)
	if !ok {
		return bad("want hh:mm[:ss[.fff]] and an optional zone Z or ±hh:mm")
	}
	start := time.Date(y, time.Month(m), d, c.hour, c.min, c.sec, c.nsec, c.zone)
	return start, start.Add(c.step), nil
}

// The precisions of a date without time.
const (
	precYear = iota
	precMonth
	precDay
)

func addPrecision(t time.Time, prec int) time.Time {
	switch prec {
	case precYear:
		return t.AddDate(1, 0, 0)
	case precMonth:
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(0, 0, 1)
}

// parseDatePart reads YYYY[-MM[-DD]], rejecting impossible dates.
func parseDatePart(s string) (y, m, d, prec int, ok bool) {
	m, d = 1, 1
	switch len(s) {
	case 4:
		y, ok = digits(s)
		return y, m, d, precYear, ok && y >= 1
	case 7:
		prec = precMonth
	case 10:
		prec = precDay
	default:
		return 0, 0, 0, 0, false
	}
	if s[4] != '-' || (prec == precDay && s[7] != '-') {
		return 0, 0, 0, 0, false
	}
	y, ok1 := digits(s[:4])
	m, ok2 := digits(s[5:7])
	ok = ok1 && ok2 && y >= 1 && m >= 1 && m <= 12
	if prec == precDay {
		var ok3 bool
		d, ok3 = digits(s[8:10])
		ok = ok && ok3 && d >= 1 && d <= daysIn(y, m)
	}
	return y, m, d, prec, ok
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// clock is a parsed time of day with its zone and precision.
type clock struct {
	hour, min, sec, nsec int
	zone                 *time.Location
	step                 time.Duration // the precision: a minute, a second or a fraction
}

// parseClock reads hh:mm[:ss[.f{1,9}]][Z|±hh:mm].
func parseClock(s string) (clock, bool) {
	c := clock{zone: time.UTC, step: time.Minute}
	body, zone := splitZone(s)
	if zone != "" {
		loc, ok := parseZone(zone)
		if !ok {
			return c, false
		}
		c.zone = loc
	}
	if len(body) < 5 || body[2] != ':' {
		return c, false
	}
	var ok1, ok2 bool
	c.hour, ok1 = digits(body[:2])
	c.min, ok2 = digits(body[3:5])
	if !ok1 || !ok2 || c.hour > 23 || c.min > 59 {
		return c, false
	}
	rest := body[5:]
	if rest == "" {
		return c, true
	}
	if len(rest) < 3 || rest[0] != ':' {
		return c, false
	}
	sec, ok := digits(rest[1:3])
	if !ok || sec > 59 {
		return c, false
	}
	c.sec, c.step = sec, time.Second
	return parseFraction(c, rest[3:])
}

func parseFraction(c clock, frac string) (clock, bool) {
	if frac == "" {
		return c, true
	}
	if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
		return c, false
	}
	n, ok := digits(frac[1:])
	if !ok {
		return c, false
	}
	step := time.Second
	for range len(frac) - 1 {
		step /= 10
	}
	c.nsec, c.step = n*int(step), step
	return c, true
}

// splitZone splits a trailing Z or ±hh:mm off a time.
func splitZone(s string) (body, zone string) {
	if strings.HasSuffix(s, "Z") {
		return s[:len(s)-1], "Z"
	}
	if i := strings.LastIndexAny(s, "+-"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

func parseZone(z string) (*time.Location, bool) {
	if z == "Z" {
		return time.UTC, true
	}
	if len(z) != 6 || z[3] != ':' {
		return nil, false
	}
	h, ok1 := digits(z[1:3])
	m, ok2 := digits(z[4:6])
	if !ok1 || !ok2 || h > 14 || m > 59 {
		return nil, false
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone("", off), true
}

// digits parses a non-empty string of ASCII digits (at most 9).
func digits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
