package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// parseSearchsetJSON is parseSearchset as it was written with
// encoding/json (the resources then inspected one by one by the Handler):
// the reference the one-pass reader is compared with.
func (u *Upstream) parseSearchsetJSON(body []byte) (Page, error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Total        *int   `json:"total"`
		Link         []struct {
			Relation string `json:"relation"`
			URL      string `json:"url"`
		} `json:"link"`
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
			Search   struct {
				Mode string `json:"mode"`
			} `json:"search"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return Page{}, err
	}
	if b.ResourceType != "Bundle" || b.Type != "searchset" {
		return Page{}, errors.New("not a searchset")
	}
	page := Page{Total: -1}
	if b.Total != nil && *b.Total >= 0 {
		page.Total = *b.Total
	}
	for i, e := range b.Entry {
		switch e.Search.Mode {
		case "", "match":
			page.Entries = append(page.Entries, e.Resource)
		case "include":
			page.Included = append(page.Included, e.Resource)
		case "outcome":
		default:
			return Page{}, fmt.Errorf("entry %d mode", i)
		}
		if len(e.Resource) == 0 && e.Search.Mode != "outcome" {
			return Page{}, fmt.Errorf("entry %d has no resource", i)
		}
	}
	for _, l := range b.Link {
		if l.Relation != "next" {
			continue
		}
		rel, err := u.relative(l.URL)
		if err != nil {
			return Page{}, err
		}
		page.Next = rel
	}
	return page, nil
}

var searchsetSamples = []string{
	`{"resourceType":"Bundle","type":"searchset","total":2,"link":[{"relation":"self","url":"http://up.test/r4/Coverage?patient=Patient/a"},{"relation":"next","url":"http://up.test/r4/Coverage?page=2"}],` +
		`"entry":[{"fullUrl":"x","resource":{"resourceType":"Coverage","id":"c1","beneficiary":{"reference":"Patient/a"}},"search":{"mode":"match"}},` +
		`{"resource":{"resourceType":"Patient","id":"a"},"search":{"mode":"include"}},` +
		`{"resource":{"resourceType":"OperationOutcome","issue":[]},"search":{"mode":"outcome"}},` +
		`{"resource":{"resourceType":"Coverage","id":"c2","meta":{"security":[{"system":"s","code":"R"}]},"beneficiary":{"reference":"Patient/a"}}}]}`,
	`{"resourceType":"Bundle","type":"searchset","total":null,"link":null,"entry":null}`,
	`{"resourceType":"Bundle","type":"searchset","total":-3,"entry":[]}`,
	`{"resourceType":"Bundle","type":"searchset","total":1.5,"entry":[]}`,
	`{"resourceType":"Bundle","type":"searchset","entry":[{"search":{"mode":"match"}}]}`,
	`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"a"},"search":{"mode":"other"}}]}`,
	`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"a"},"search":{"mode":"outcome"}},null]}`,
	`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"/r4/Patient?page=2"}],"entry":[]}`,
	`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"http://up.test/elsewhere?page=2"}],"entry":[]}`,
	`{"resourceType":"Bundle","type":"collection","entry":[]}`,
	`{"resourceType":"Patient","id":"a"}`,
	`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"a"}}]`,
	`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"a"}}]} {}`,
	`[]`, `null`, ``,
}

// inspectable reports whether every resource of a page is one Inspect
// reads (not null, not another JSON type): the old reader passed such
// resources on, and the Handler refused them (502) when it inspected them.
func inspectable(p Page) bool {
	for _, raw := range slices.Concat(p.Entries, p.Included) {
		if _, err := catalog.Inspect(raw); err != nil || bytes.Equal(raw, []byte("null")) {
			return false
		}
	}
	return true
}

func compareSearchset(t *testing.T, u *Upstream, body []byte) {
	if foldedMember(body) {
		return // encoding/json reads "Entry" as entry; FHIR and the reader do not
	}
	got, err := u.parseSearchset(body)
	want, werr := u.parseSearchsetJSON(body)
	switch {
	case werr != nil && err == nil:
		t.Fatalf("%q: read as %+v; encoding/json: %v", body, got, werr)
	case werr != nil:
		if !errors.Is(err, ErrBadGateway) {
			t.Fatalf("%q: error %v does not wrap ErrBadGateway", body, err)
		}
	case err != nil:
		if !inspectable(want) || strings.Contains(err.Error(), "appears twice") {
			return // refused now at once, or on purpose (TestSearchsetRefusesDuplicates)
		}
		t.Fatalf("%q: %v; encoding/json read %+v", body, err, want)
	default:
		if got.Total != want.Total || got.Next != want.Next || !sameRaws(got.Entries, want.Entries) || !sameRaws(got.Included, want.Included) {
			t.Fatalf("%q: read %+v, encoding/json %+v", body, got, want)
		}
		for i, list := range [][]json.RawMessage{got.Entries, got.Included} {
			facts := [][]catalog.Facts{got.EntryFacts, got.IncludedFacts}[i]
			if len(facts) != len(list) {
				t.Fatalf("%q: %d facts for %d resources", body, len(facts), len(list))
			}
			for j, raw := range list {
				f, err := catalog.Inspect(raw)
				if err != nil || f.Type != facts[j].Type || f.ID != facts[j].ID || f.Patient != facts[j].Patient ||
					f.VersionID != facts[j].VersionID || f.LastUpdated != facts[j].LastUpdated || !slices.Equal(f.Security, facts[j].Security) {
					t.Fatalf("%q: facts %+v, Inspect %+v (%v)", raw, facts[j], f, err)
				}
			}
		}
	}
}

// foldedMember reports whether body has a member name that is another's
// in other case, which encoding/json reads as that member.
func foldedMember(body []byte) bool {
	lower := bytes.ToLower(body)
	for _, n := range []string{"resourceType", "type", "total", "link", "relation", "url", "entry", "resource", "search", "mode"} {
		if bytes.Count(lower, []byte(`"`+strings.ToLower(n)+`"`)) != bytes.Count(body, []byte(`"`+n+`"`)) {
			return true
		}
	}
	return bytes.Contains(body, []byte(`\u`))
}

func sameRaws(a, b []json.RawMessage) bool {
	return slices.EqualFunc(a, b, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) })
}

func testUpstream(t testing.TB) *Upstream {
	u, err := NewUpstream(UpstreamConfig{BaseURL: "http://up.test/r4"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSearchsetAsEncodingJSON: the one-pass reader reads what encoding/json
// read, with each resource's facts as Inspect reads them.
func TestSearchsetAsEncodingJSON(t *testing.T) {
	u := testUpstream(t)
	for _, in := range searchsetSamples {
		compareSearchset(t, u, []byte(in))
	}
	_, canned := cannedEnv(t)
	compareSearchset(t, u, canned.search)
}

func FuzzSearchsetAsEncodingJSON(f *testing.F) {
	for _, in := range searchsetSamples {
		f.Add([]byte(in))
	}
	u := testUpstream(f)
	f.Fuzz(func(t *testing.T, body []byte) { compareSearchset(t, u, body) })
}

// TestSearchsetRefusesDuplicates: a member of the searchset the gateway
// reads that appears twice could be read either way by whoever reads the
// answer next, so the answer is not used (502); and a resource the Handler
// could not check is refused with the page.
func TestSearchsetRefusesDuplicates(t *testing.T) {
	u := testUpstream(t)
	const alice = `{"resourceType":"Coverage","id":"c1","beneficiary":{"reference":"Patient/a"}}`
	const bob = `{"resourceType":"Coverage","id":"c2","beneficiary":{"reference":"Patient/b"}}`
	for _, body := range []string{
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + alice + `,"resource":` + bob + `}]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + alice + `,"search":{"mode":"outcome"},"search":{"mode":"match"}}]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + alice + `,"search":{"mode":"outcome","mode":"match"}}]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[],"entry":[{"resource":` + bob + `}]}`,
		`{"resourceType":"Bundle","type":"searchset","type":"searchset","entry":[]}`,
		`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","relation":"self","url":"http://up.test/r4/x"}],"entry":[]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Coverage","id":"c","beneficiary":{"reference":"Patient/a"},"beneficiary":{"reference":"Patient/b"}}}]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":"Coverage/c1"}]}`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":null}]}`,
	} {
		if p, err := u.parseSearchset([]byte(body)); !errors.Is(err, ErrBadGateway) {
			t.Errorf("%s: read as %+v (%v), want it refused", body, p, err)
		}
	}
}
