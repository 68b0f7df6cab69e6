package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
)

func eobJSON(id, patient, updated string) string {
	return fmt.Sprintf(`{"resourceType":"ExplanationOfBenefit","id":%q,"meta":{"lastUpdated":%q},"status":"active",`+
		`"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"professional"}]},"use":"claim",`+
		`"patient":{"reference":"Patient/%s"},"created":"2024-01-01","insurer":{"display":"Plan"},"provider":{"display":"Clinic"},`+
		`"outcome":"complete","insurance":[{"focal":true,"coverage":{"display":"Plan coverage"}}]}`, id, updated, patient)
}

func TestMemorySourceAddRejects(t *testing.T) {
	tests := []struct{ name, raw string }{
		{"not json", `{"resourceType":`},
		{"not an object", `[1,2]`},
		{"type not in the catalog", `{"resourceType":"Observation","id":"o1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"}}`},
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
			got, err := s.Read(context.Background(), readQuery("Patient", "p1"))
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
	if _, err := s.Read(context.Background(), readQuery("ExplanationOfBenefit", "e2")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing id: %v, want ErrNotFound", err)
	}
	if _, err := s.Read(context.Background(), readQuery("Coverage", "e1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("same id, other type: %v, want ErrNotFound", err)
	}
	// Replacing a resource moves it to its new compartment.
	mustAdd(t, s, eobJSON("e1", "p2", "2024-01-02T00:00:00Z"))
	if page := search(t, s, eobQuery("p1", 10, "")); page.Total != 0 {
		t.Fatalf("old compartment still holds the replaced resource: %d", page.Total)
	}
	if page := search(t, s, eobQuery("p2", 10, "")); page.Total != 1 || !strings.Contains(string(page.Entries[0]), "2024-01-02") {
		t.Fatalf("new compartment: %+v", page)
	}
}

func TestMemorySourceSearch(t *testing.T) {
	s := NewMemorySource()
	for _, r := range []string{
		eobJSON("b", "p1", "2024-03-01T00:00:00Z"),
		withField(eobJSON("a", "p1", "2024-03-01T00:00:00Z"), `"identifier":[{"system":"urn:claims","value":"claim-a"}]`),
		eobJSON("c", "p1", "2024-05-01T00:00:00Z"),
		withField(eobJSON("d", "p1", "2024-01-01T00:00:00Z"), `"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"pharmacy"}]}`),
		eobJSON("x", "p2", "2024-04-01T00:00:00Z"),
	} {
		mustAdd(t, s, r)
	}
	tests := []struct {
		name  string
		q     Query
		ids   []string
		total int
		next  string
	}{
		{"newest first, ties by id", eobQuery("p1", 10, ""), []string{"c", "a", "b", "d"}, 4, ""},
		{"other compartment", eobQuery("p2", 10, ""), []string{"x"}, 1, ""},
		{"unknown patient", eobQuery("p3", 10, ""), nil, 0, ""},
		{"first page", eobQuery("p1", 2, ""), []string{"c", "a"}, 4, "2"},
		{"page from a cursor", eobQuery("p1", 2, "1"), []string{"a", "b"}, 4, "3"},
		{"cursor past the end", eobQuery("p1", 2, "9"), nil, 4, ""},
		{"ids", eobQuery("p1", 10, "", crit(t, "ExplanationOfBenefit", "_id", "d,b,x")), []string{"b", "d"}, 2, ""},
		{"id of another patient", eobQuery("p1", 10, "", crit(t, "ExplanationOfBenefit", "_id", "x")), nil, 0, ""},
		{"lastUpdated", eobQuery("p1", 10, "", crit(t, "ExplanationOfBenefit", "_lastUpdated", "ge2024-03")), []string{"c", "a", "b"}, 3, ""},
		{"two lastUpdated ANDed", eobQuery("p1", 10, "", crit(t, "ExplanationOfBenefit", "_lastUpdated", "ge2024-03"),
			crit(t, "ExplanationOfBenefit", "_lastUpdated", "lt2024-04")), []string{"a", "b"}, 2, ""},
		{"token on the resource", eobQuery("p1", 10, "", crit(t, "ExplanationOfBenefit", "type", "http://terminology.hl7.org/CodeSystem/claim-type|pharmacy")), []string{"d"}, 1, ""},
		{"token code only", eobQuery("p1", 10, "", crit(t, "ExplanationOfBenefit", "type", "pharmacy,oral")), []string{"d"}, 1, ""},
		{"token of another system", eobQuery("p1", 10, "", crit(t, "ExplanationOfBenefit", "type", "http://other|pharmacy")), nil, 0, ""},
		{"identifier", eobQuery("p1", 10, "", crit(t, "ExplanationOfBenefit", "identifier", "urn:claims|claim-a")), []string{"a"}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := search(t, s, tt.q)
			if page.Total != tt.total || !equalStrings(entryIDs(t, page), tt.ids) || page.Next != tt.next {
				t.Fatalf("got total %d ids %v next %q, want %d %v %q", page.Total, entryIDs(t, page), page.Next, tt.total, tt.ids, tt.next)
			}
		})
	}
	if _, err := s.Search(context.Background(), eobQuery("", 10, "")); err == nil {
		t.Fatal("a search without a patient was answered")
	}
	if _, err := s.Search(context.Background(), eobQuery("p1", 10, "-1")); err == nil {
		t.Fatal("a negative cursor was answered")
	}
}

// TestMemorySourceSharedAndIncludes pins that shared reference data is
// searched without a compartment, and that includes reach the referenced
// resources once each.
func TestMemorySourceSharedAndIncludes(t *testing.T) {
	s := NewMemorySource()
	mustAdd(t, s, `{"resourceType":"Organization","id":"payer","meta":{"lastUpdated":"2024-01-01T00:00:00Z"},"name":"Plan"}`)
	mustAdd(t, s, `{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2024-01-01T00:00:00Z"}}`)
	for _, id := range []string{"e1", "e2"} {
		mustAdd(t, s, withField(eobJSON(id, "p1", "2024-01-01T00:00:00Z"), `"insurer":{"reference":"Organization/payer"}`))
	}
	org, _ := catalog.Lookup("Organization")
	page, err := s.Search(context.Background(), Query{Type: org, Count: 10})
	if err != nil || page.Total != 1 {
		t.Fatalf("shared search: %+v %v", page, err)
	}
	eob, _ := catalog.Lookup("ExplanationOfBenefit")
	insurer, _ := eob.Include("insurer")
	patient, _ := eob.Include("patient")
	q := eobQuery("p1", 10, "")
	q.Includes = []catalog.Param{insurer, patient}
	page = search(t, s, q)
	if len(page.Entries) != 2 || len(page.Included) != 2 {
		t.Fatalf("includes: %d entries, %d included, want 2 and 2 (each target once)", len(page.Entries), len(page.Included))
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
			if _, err := s.Search(context.Background(), eobQuery("p1", 5, "")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if page := search(t, s, eobQuery("p1", 100, "")); page.Total != 8 {
		t.Fatalf("total %d, want 8", page.Total)
	}
}

// withField adds a top-level field to a resource's JSON.
func withField(raw, field string) string {
	return strings.Replace(raw, `"outcome"`, field+`,"outcome"`, 1)
}

func mustAdd(t *testing.T, s *MemorySource, raw string) {
	t.Helper()
	if err := s.Add([]byte(raw)); err != nil {
		t.Fatalf("Add: %v", err)
	}
}

// eobQuery is an ExplanationOfBenefit search in p's compartment.
func eobQuery(p string, count int, cursor string, criteria ...Criterion) Query {
	t, _ := catalog.Lookup("ExplanationOfBenefit")
	return Query{Type: t, Constraint: access.Constraint{Patient: p}, Count: count, Cursor: cursor, Criteria: criteria}
}

func readQuery(typ, id string) ReadQuery {
	t, _ := catalog.Lookup(typ)
	return ReadQuery{Type: t, ID: id}
}

// crit parses one search parameter of typ.
func crit(t *testing.T, typ, name, value string) Criterion {
	t.Helper()
	ct, _ := catalog.Lookup(typ)
	p, ok := ct.Param(name)
	if !ok {
		t.Fatalf("%s has no parameter %s", typ, name)
	}
	c, err := parseCriterion(p, value)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func search(t *testing.T, s *MemorySource, q Query) Page {
	t.Helper()
	page, err := s.Search(context.Background(), q)
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

// TestMemorySourceFacts: the facts the source keeps for the bytes it
// returns are catalog.Inspect's of those bytes; a copy of them, or bytes
// of a resource replaced since, is not the source's, and the Handler
// inspects it itself.
func TestMemorySourceFacts(t *testing.T) {
	src := NewMemorySource()
	if err := LoadDemo(src); err != nil {
		t.Fatal(err)
	}
	alice := DemoMembers()[0].PatientID
	ctx := context.Background()
	patient, _ := catalog.Lookup("Patient")
	raw, err := src.Read(ctx, ReadQuery{Type: patient, ID: alice})
	if err != nil {
		t.Fatal(err)
	}
	eob, _ := catalog.Lookup("ExplanationOfBenefit")
	page, err := src.Search(ctx, Query{Type: eob, Constraint: access.Constraint{Patient: alice}, Count: 50})
	if err != nil || len(page.Entries) == 0 {
		t.Fatalf("search: %v, %d entries", err, len(page.Entries))
	}
	for _, b := range append([]json.RawMessage{raw}, page.Entries...) {
		got, ok := src.Facts(b)
		want, err := catalog.Inspect(b)
		if !ok || err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("kept facts %+v (%v), want catalog.Inspect's %+v (%v)", got, ok, want, err)
		}
	}
	if _, ok := src.Facts(slices.Clone(raw)); ok {
		t.Error("the facts of a copy were answered: a copy may have been changed")
	}
	if _, ok := src.Facts(raw[:len(raw)-1]); ok {
		t.Error("the facts of a part of the bytes were answered")
	}
	changed := bytes.Replace(raw, []byte(`"id":"`+alice+`"`), []byte(`"id":"`+alice+`","active":false`), 1)
	if err := src.Add(changed); err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Facts(raw); ok {
		t.Error("the facts of replaced bytes were answered")
	}
}
