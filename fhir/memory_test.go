package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func eobJSON(id, patient, updated string) string {
	return fmt.Sprintf(`{"resourceType":"ExplanationOfBenefit","id":%q,"meta":{"lastUpdated":%q},"status":"active","use":"claim","patient":{"reference":"Patient/%s"},"outcome":"complete"}`, id, updated, patient)
}

func TestMemorySourceAddRejects(t *testing.T) {
	tests := []struct{ name, raw string }{
		{"not json", `{"resourceType":`},
		{"not an object", `[1,2]`},
		{"unserved type", `{"resourceType":"Observation","id":"o1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"}}`},
		{"no type", `{"id":"o1"}`},
		{"no id", `{"resourceType":"Patient","meta":{"lastUpdated":"2024-01-01T00:00:00Z"}}`},
		{"bad id", `{"resourceType":"Patient","id":"a/b","meta":{"lastUpdated":"2024-01-01T00:00:00Z"}}`},
		{"no lastUpdated", `{"resourceType":"Patient","id":"p1"}`},
		{"lastUpdated not an instant", `{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2024-01-01"}}`},
		{"bad code", `{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"},"gender":"robot"}`},
		{"wrong shape", `{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"},"name":"Alice"}`},
		{"coverage without beneficiary", `{"resourceType":"Coverage","id":"c1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"},"status":"active"}`},
		{"coverage with absolute beneficiary", `{"resourceType":"Coverage","id":"c1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"},"status":"active","beneficiary":{"reference":"http://x/Patient/p1"}}`},
		{"eob naming a group", strings.Replace(eobJSON("e1", "p1", "2024-01-01T00:00:00Z"), "Patient/p1", "Group/p1", 1)},
		{"eob with bad patient id", eobJSON("e1", "p 1", "2024-01-01T00:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewMemorySource()
			if err := s.Add([]byte(tt.raw)); err == nil {
				t.Fatal("Add accepted it")
			}
			if len(s.byKey) != 0 {
				t.Fatal("a refused resource was stored")
			}
		})
	}
}

func TestMemorySourceKeepsBytes(t *testing.T) {
	compact := `{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"},"birthDate":"1990-01-01","_birthDate":{"extension":[{"url":"http://example.org/x","valueString":"<&>"}]},"unknownField":[1,2.50,{"z":null}]}`
	var indented bytes.Buffer
	if err := json.Indent(&indented, []byte(compact), "", "  "); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{"compact": compact, "indented": indented.String()} {
		t.Run(name, func(t *testing.T) {
			s := NewMemorySource()
			if err := s.Add([]byte(in)); err != nil {
				t.Fatalf("Add: %v", err)
			}
			got, err := s.Read(context.Background(), "Patient", "p1")
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if string(got) != compact {
				t.Fatalf("stored bytes changed:\n got %s\nwant %s", got, compact)
			}
		})
	}
}

func TestMemorySourceRead(t *testing.T) {
	s := NewMemorySource()
	mustAdd(t, s, eobJSON("e1", "p1", "2024-01-01T00:00:00Z"))
	if _, err := s.Read(context.Background(), "ExplanationOfBenefit", "e2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing id: %v, want ErrNotFound", err)
	}
	if _, err := s.Read(context.Background(), "Coverage", "e1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("same id, other type: %v, want ErrNotFound", err)
	}
	// Replacing a resource moves it to its new compartment.
	mustAdd(t, s, eobJSON("e1", "p2", "2024-01-02T00:00:00Z"))
	if page := search(t, s, Query{Patient: "p1", Count: 10}); page.Total != 0 {
		t.Fatalf("old compartment still holds the replaced resource: %d", page.Total)
	}
	if page := search(t, s, Query{Patient: "p2", Count: 10}); page.Total != 1 || !strings.Contains(string(page.Entries[0]), "2024-01-02") {
		t.Fatalf("new compartment: %+v", page)
	}
}

func TestMemorySourceSearch(t *testing.T) {
	s := NewMemorySource()
	for _, r := range []string{
		eobJSON("b", "p1", "2024-03-01T00:00:00Z"),
		eobJSON("a", "p1", "2024-03-01T00:00:00Z"),
		eobJSON("c", "p1", "2024-05-01T00:00:00Z"),
		eobJSON("d", "p1", "2024-01-01T00:00:00Z"),
		eobJSON("x", "p2", "2024-04-01T00:00:00Z"),
	} {
		mustAdd(t, s, r)
	}
	ge := mustDate(t, "ge2024-03")
	tests := []struct {
		name  string
		q     Query
		ids   []string
		total int
	}{
		{"newest first, ties by id", Query{Patient: "p1", Count: 10}, []string{"c", "a", "b", "d"}, 4},
		{"other compartment", Query{Patient: "p2", Count: 10}, []string{"x"}, 1},
		{"unknown patient", Query{Patient: "p3", Count: 10}, nil, 0},
		{"page", Query{Patient: "p1", Count: 2, Offset: 1}, []string{"a", "b"}, 4},
		{"offset past the end", Query{Patient: "p1", Count: 2, Offset: 9}, nil, 4},
		{"count zero gives total only", Query{Patient: "p1"}, nil, 4},
		{"ids", Query{Patient: "p1", IDs: []string{"d", "b", "x"}, Count: 10}, []string{"b", "d"}, 2},
		{"id of another patient", Query{Patient: "p1", IDs: []string{"x"}, Count: 10}, nil, 0},
		{"lastUpdated", Query{Patient: "p1", LastUpdated: []DateFilter{ge}, Count: 10}, []string{"c", "a", "b"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := search(t, s, tt.q)
			if page.Total != tt.total || !equalStrings(entryIDs(t, page), tt.ids) {
				t.Fatalf("got total %d ids %v, want %d %v", page.Total, entryIDs(t, page), tt.total, tt.ids)
			}
		})
	}
	if _, err := s.Search(context.Background(), "ExplanationOfBenefit", Query{Count: 10}); err == nil {
		t.Fatal("a search without a patient was answered")
	}
	if _, err := s.Search(context.Background(), "ExplanationOfBenefit", Query{Patient: "p1", Offset: -1}); err == nil {
		t.Fatal("a negative offset was answered")
	}
}

func TestMemorySourceConcurrent(t *testing.T) {
	s := NewMemorySource()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := s.Add([]byte(eobJSON(fmt.Sprintf("e%d", i), "p1", "2024-01-01T00:00:00Z"))); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.Search(context.Background(), "ExplanationOfBenefit", Query{Patient: "p1", Count: 5}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if page := search(t, s, Query{Patient: "p1", Count: 100}); page.Total != 8 {
		t.Fatalf("total %d, want 8", page.Total)
	}
}

func mustAdd(t *testing.T, s *MemorySource, raw string) {
	t.Helper()
	if err := s.Add([]byte(raw)); err != nil {
		t.Fatalf("Add: %v", err)
	}
}

func mustDate(t *testing.T, v string) DateFilter {
	t.Helper()
	f, err := ParseDateFilter(v)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func search(t *testing.T, s *MemorySource, q Query) Page {
	t.Helper()
	page, err := s.Search(context.Background(), "ExplanationOfBenefit", q)
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	return page
}

func entryIDs(t *testing.T, page Page) []string {
	t.Helper()
	var ids []string
	for _, raw := range page.Entries {
		var r struct{ ID string }
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}
