package fhir

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func TestPagingCollectsEachOnce(t *testing.T) {
	e := newTestEnv(t)
	all := e.searchAll("alice", "ExplanationOfBenefit")
	var got []string
	link, pages := "/fhir/ExplanationOfBenefit?_count=2", 0
	for link != "" {
		b := decodeBundle(t, e.get("alice", link))
		pages++
		if b.Total != len(all) || len(b.Entry) > 2 {
			t.Fatalf("page %d: total %d entries %d", pages, b.Total, len(b.Entry))
		}
		for _, l := range b.Link {
			if !strings.HasPrefix(l.URL, testBase+"/ExplanationOfBenefit?") {
				t.Fatalf("link not under the base: %s", l.URL)
			}
		}
		if self := b.link("self"); pages == 1 && self != testBase+"/ExplanationOfBenefit?_count=2" {
			t.Fatalf("first self link %q", self)
		}
		for i, entry := range b.Entry {
			if entry.Search.Mode != "match" || entry.FullURL != testBase+"/ExplanationOfBenefit/"+b.ids(t)[i] {
				t.Fatalf("entry %d: mode %q fullUrl %q", i, entry.Search.Mode, entry.FullURL)
			}
		}
		got = append(got, b.ids(t)...)
		link = b.link("next")
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(got, all) {
		t.Fatalf("paged ids %v, want %v", got, all)
	}
	first := e.get("alice", "/fhir/ExplanationOfBenefit?_count=2")
	if _, err := models.UnmarshalBundle(first.Body.Bytes()); err != nil {
		t.Fatalf("golang-fhir-models rejects the Bundle: %v", err)
	}
	if !strings.Contains(first.Body.String(), `?_count=2&_page=`) {
		t.Fatalf("next link escaped or missing: %s", first.Body)
	}
	if want := (len(all) + 1) / 2; pages != want {
		t.Fatalf("%d pages, want %d", pages, want)
	}
}

func TestSearchOrder(t *testing.T) {
	e := newTestEnv(t)
	b := decodeBundle(t, e.get("alice", "/fhir/ExplanationOfBenefit?_count=100"))
	times := resourceTimes(t, b)
	for i := 1; i < len(times); i++ {
		if times[i].After(times[i-1]) {
			t.Fatalf("entry %d is newer than entry %d", i, i-1)
		}
	}
	if len(b.Link) != 1 {
		t.Fatalf("links %+v, want only self", b.Link)
	}
}

func resourceTimes(t *testing.T, b testBundle) []time.Time {
	var out []time.Time
	for _, entry := range b.Entry {
		var r struct {
			Meta struct{ LastUpdated string } `json:"meta"`
		}
		_ = json.Unmarshal(entry.Resource, &r)
		tm, err := time.Parse(time.RFC3339Nano, r.Meta.LastUpdated)
		if err != nil {
			t.Fatalf("lastUpdated %q: %v", r.Meta.LastUpdated, err)
		}
		out = append(out, tm)
	}
	return out
}

func TestLastUpdated(t *testing.T) {
	e := newTestEnv(t)
	b := decodeBundle(t, e.get("alice", "/fhir/ExplanationOfBenefit?_count=100"))
	ids, times := b.ids(t), resourceTimes(t, b)
	pivot := times[len(times)/2].UTC()
	sec := pivot.Format("2006-01-02T15:04:05Z")
	offset := pivot.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05-07:00")
	minute := pivot.Format("2006-01-02T15:04Z")
	day, month, year := pivot.Format("2006-01-02"), pivot.Format("2006-01"), pivot.Format("2006")
	dayStart := time.Date(pivot.Year(), pivot.Month(), pivot.Day(), 0, 0, 0, 0, time.UTC)
	monthStart := time.Date(pivot.Year(), pivot.Month(), 1, 0, 0, 0, 0, time.UTC)
	yearStart := time.Date(pivot.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	minuteStart := pivot.Truncate(time.Minute)
	in := func(lo, hi time.Time) func(time.Time) bool {
		return func(t time.Time) bool { return !t.Before(lo) && t.Before(hi) }
	}
	tests := []struct {
		value string
		want  func(time.Time) bool
	}{
		{sec, in(pivot, pivot.Add(time.Second))},
		{"eq" + sec, in(pivot, pivot.Add(time.Second))},
		{"eq" + offset, in(pivot, pivot.Add(time.Second))},
		{"gt" + sec, func(t time.Time) bool { return !t.Before(pivot.Add(time.Second)) }},
		{"ge" + sec, func(t time.Time) bool { return !t.Before(pivot) }},
		{"lt" + sec, func(t time.Time) bool { return t.Before(pivot) }},
		{"le" + sec, func(t time.Time) bool { return t.Before(pivot.Add(time.Second)) }},
		{minute, in(minuteStart, minuteStart.Add(time.Minute))},
		{day, in(dayStart, dayStart.AddDate(0, 0, 1))},
		{"gt" + day, func(t time.Time) bool { return !t.Before(dayStart.AddDate(0, 0, 1)) }},
		{"lt" + day, func(t time.Time) bool { return t.Before(dayStart) }},
		{month, in(monthStart, monthStart.AddDate(0, 1, 0))},
		{"le" + month, func(t time.Time) bool { return t.Before(monthStart.AddDate(0, 1, 0)) }},
		{year, in(yearStart, yearStart.AddDate(1, 0, 0))},
		{"ge" + year, func(t time.Time) bool { return !t.Before(yearStart) }},
		{"1999", func(time.Time) bool { return false }},
		{"gt1999", func(time.Time) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			var want []string
			for i, tm := range times {
				if tt.want(tm) {
					want = append(want, ids[i])
				}
			}
			got := decodeBundle(t, e.get("alice", "/fhir/ExplanationOfBenefit?_count=100&_lastUpdated="+url.QueryEscape(tt.value)))
			if !slices.Equal(got.ids(t), want) || got.Total != len(want) {
				t.Fatalf("got %v, want %v", got.ids(t), want)
			}
		})
	}
	t.Run("range", func(t *testing.T) {
		q := "/fhir/ExplanationOfBenefit?_count=100&_lastUpdated=ge" + sec + "&_lastUpdated=le" + sec
		got := decodeBundle(t, e.get("alice", q))
		if !slices.Equal(got.ids(t), []string{ids[len(times)/2]}) {
			t.Fatalf("ge and le the same second: %v", got.ids(t))
		}
		if self := got.link("self"); strings.Count(self, "_lastUpdated=") != 2 {
			t.Fatalf("self link drops a _lastUpdated: %s", self)
		}
	})
}

func TestBadSearchParameters(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct{ typ, query, code string }{
		{"Coverage", "foo=bar", "not-supported"},
		{"Coverage", "_id:missing=true", "not-supported"},
		{"Coverage", "patient:Patient=x", "not-supported"},
		{"Patient", "patient=x", "not-supported"},
		{"Coverage", "_include=ExplanationOfBenefit:patient", "invalid"},
		{"Coverage", "_include=Coverage:nope", "not-supported"},
		{"Coverage", "_count=0", "invalid"},
		{"Coverage", "_count=101", "invalid"},
		{"Coverage", "_count=abc", "invalid"},
		{"Coverage", "_count=-1", "invalid"},
		{"Coverage", "_count=%2B5", "invalid"},
		{"Coverage", "_count=2&_count=3", "invalid"},
		{"Coverage", "_offset=0", "not-supported"},
		{"Coverage", "_page=forged", "invalid"},
		{"Coverage", "_page=Mg.AAAAAAAAAAAAAAAAAAAAAA", "invalid"},
		{"Coverage", "_id=", "invalid"},
		{"Coverage", "_id=a,,b", "invalid"},
		{"Coverage", "_id=a%2Fb", "invalid"},
		{"Coverage", "patient=", "invalid"},
		{"Coverage", "patient=Group/x", "invalid"},
		{"Coverage", "_lastUpdated=", "invalid"},
		{"Coverage", "_lastUpdated=2024-13", "invalid"},
		{"Coverage", "_lastUpdated=2024-02-30", "invalid"},
		{"Coverage", "_lastUpdated=yesterday", "invalid"},
		{"Coverage", "_lastUpdated=xx2024", "invalid"},
		{"Coverage", "_format=xml", "not-supported"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"?"+tt.query, func(t *testing.T) {
			code, diag := outcomeCode(t, e.get("alice", "/fhir/"+tt.typ+"?"+tt.query), http.StatusBadRequest)
			if code != tt.code || diag == "" {
				t.Fatalf("code %q (diagnostics %q), want %q", code, diag, tt.code)
			}
		})
	}
	for _, ok := range []string{"_format=json", "_format=application%2Ffhir%2Bjson", "_include=Coverage:payor", "_count=100"} {
		if w := e.get("alice", "/fhir/Coverage?"+ok); w.Code != http.StatusOK {
			t.Errorf("%s: %d %s", ok, w.Code, w.Body)
		}
	}
}

func TestPostSearch(t *testing.T) {
	e := newTestEnv(t)
	next := decodeBundle(t, e.get("alice", "/fhir/ExplanationOfBenefit?_count=2")).link("next")
	cursor, _ := url.Parse(next)
	get := e.get("alice", next)
	post := e.postForm("alice", "/fhir/ExplanationOfBenefit/_search", cursor.Query())
	if post.Code != http.StatusOK || post.Body.String() != get.Body.String() {
		t.Fatalf("POST differs from GET:\n%s\n%s", post.Body, get.Body)
	}
	tests := []struct {
		name, ctype, body string
		status            int
	}{
		{"json body", "application/json", `{"_count":"2"}`, http.StatusUnsupportedMediaType},
		{"no content type", "", "_count=2", http.StatusUnsupportedMediaType},
		{"too large", "application/x-www-form-urlencoded", "_id=" + strings.Repeat("a", 70<<10), http.StatusRequestEntityTooLarge},
		{"bad param in body", "application/x-www-form-urlencoded", "_count=0", http.StatusBadRequest},
		{"charset ok", "application/x-www-form-urlencoded; charset=utf-8", "_count=1", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(http.MethodPost, "alice", "/fhir/ExplanationOfBenefit/_search", tt.ctype, strings.NewReader(tt.body))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status != http.StatusOK {
				outcomeCode(t, w, tt.status)
			}
		})
	}
}
