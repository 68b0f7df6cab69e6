package fhir

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// TestDemoReferencesResolve walks every reference in the demo data each
// member is served and reads it through the API with that member's token:
// a relative reference must read back (200), a contained one must name a
// contained resource, and no reference may point outside the server.
func TestDemoReferencesResolve(t *testing.T) {
	e := newTestEnv(t)
	tokens := e.h.Tokens.(fakeTokens)
	for _, m := range []DemoMember{e.alice, e.bob} {
		token := m.Username + "-everything"
		tokens[token] = Access{Patient: m.PatientID, Scopes: []string{"patient/*.rs"}, ClientID: "refs", Member: m.Username, Sensitive: true}
		checked := 0
		for _, typ := range catalog.All() {
			for target := "/fhir/" + typ.Name + "?_count=100"; target != ""; {
				b := decodeBundle(t, e.get(token, target))
				for _, entry := range b.Entry {
					checked += e.checkReferences(t, token, entry.FullURL, entry.Resource)
				}
				target = b.link("next")
			}
		}
		if checked == 0 {
			t.Errorf("%s: no reference in the demo data", m.Username)
		}
		t.Logf("%s: %d references read back", m.Username, checked)
	}
}

// checkReferences reads back every reference in raw and returns how many.
func (e *testEnv) checkReferences(t *testing.T, token, where string, raw json.RawMessage) int {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	contained := map[string]bool{}
	for _, c := range elements(doc, "contained") {
		if m, ok := c.(map[string]any); ok {
			contained["#"+str(m["id"])] = true
		}
	}
	n := 0
	walkReferences(doc, func(ref string) {
		n++
		switch {
		case strings.HasPrefix(ref, "#"):
			if !contained[ref] {
				t.Errorf("%s: contained reference %s names nothing", where, ref)
			}
		case strings.Contains(ref, "://"):
			t.Errorf("%s: absolute reference %s leaves the server", where, ref)
		default:
			typ, id, ok := strings.Cut(ref, "/")
			if !ok || !catalog.ValidID(id) {
				t.Errorf("%s: reference %q is not Type/id", where, ref)
				return
			}
			if w := e.get(token, "/fhir/"+typ+"/"+url.PathEscape(id)); w.Code != 200 {
				t.Errorf("%s: reference %s reads %d with the member's token: %s", where, ref, w.Code, w.Body)
			}
		}
	})
	return n
}

// walkReferences calls f with every Reference.reference in v.
func walkReferences(v any, f func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "reference" {
				f(s)
				continue
			}
			walkReferences(c, f)
		}
	case []any:
		for _, c := range x {
			walkReferences(c, f)
		}
	}
}
