package fhir

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// includingUpstream is an honest FHIR server over testdata/carin that
// declares and serves every _include the catalog knows, as HAPI does: it
// includes whatever a match references, another member's record too.
type includingUpstream struct {
	t     *testing.T
	data  *MemorySource
	mu    sync.Mutex
	asked []url.Values
}

func newIncludingUpstream(t *testing.T) (*includingUpstream, *httptest.Server) {
	d, err := ReadData(DirData("testdata/carin"))
	if err != nil {
		t.Fatal(err)
	}
	u := &includingUpstream{t: t, data: NewMemorySource()}
	if err := u.data.Load(d); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(srv.Close)
	return u, srv
}

func (u *includingUpstream) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/r4/")
	if path == "metadata" {
		u.metadata(w)
		return
	}
	q := r.URL.Query()
	u.mu.Lock()
	u.asked = append(u.asked, q)
	u.mu.Unlock()
	typ, ok := catalog.Lookup(path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	patient := strings.TrimPrefix(q.Get(typ.Owner.Param), "Patient/")
	var match, include []string
	seen := map[string]bool{}
	for key, s := range u.data.byKey {
		if !strings.HasPrefix(key, typ.Name+"/") || (typ.Kind == catalog.MemberData && s.patient != patient) ||
			(q.Has("_id") && q.Get("_id") != s.id) {
			continue
		}
		match = append(match, string(s.raw))
		doc, _ := decodeDoc(s.raw)
		for _, inc := range q["_include"] {
			parts := strings.Split(inc, ":") // Type:param[:Target]
			p, ok := typ.Include(parts[1])
			if !ok {
				continue
			}
			for _, e := range elements(doc, p.Path) {
				m, _ := e.(map[string]any)
				ref := str(m["reference"])
				refType, _, _ := strings.Cut(ref, "/")
				if len(parts) == 3 && parts[2] != refType {
					continue
				}
				if target, ok := u.data.byKey[ref]; ok && !seen[ref] {
					seen[ref] = true
					include = append(include, string(target.raw))
				}
			}
		}
	}
	(&fakeUpstream{}).writeBundle(w, match, include, "")
}

// metadata declares every type with its parameters and includes.
func (u *includingUpstream) metadata(w http.ResponseWriter) {
	type param struct {
		Name string `json:"name"`
	}
	var res []map[string]any
	for _, t := range catalog.All() {
		var params []param
		for _, p := range t.Params {
			params = append(params, param{p.Name})
		}
		var incs []string
		for _, p := range t.Includes {
			incs = append(incs, t.Name+":"+p.Name)
		}
		res = append(res, map[string]any{"type": t.Name, "interaction": []map[string]string{{"code": "read"}, {"code": "search-type"}},
			"searchParam": params, "searchInclude": incs})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"resourceType": "CapabilityStatement", "rest": []map[string]any{{"mode": "server", "resource": res}}})
}

// TestUpstreamIncludes: in front of an upstream that serves them, every
// _include goes upstream as asked (inside the member's compartment) and
// its results come back as included entries; an upstream including
// another member's record (alice's claim names bob as payee) gets the
// whole answer withheld (502), with nothing of bob's in it.
func TestUpstreamIncludes(t *testing.T) {
	u, srv := newIncludingUpstream(t)
	up, err := NewUpstream(UpstreamConfig{BaseURL: srv.URL + "/r4"})
	if err != nil {
		t.Fatal(err)
	}
	types, dropped, err := up.ServedTypes(t.Context(), catalog.All())
	if err != nil || len(dropped) > 0 {
		t.Fatalf("ServedTypes: %v, dropped %v", err, dropped)
	}
	e := newTestEnvWith(t, up)
	e.h.Types = types
	tests := []struct {
		query    string
		included []string
	}{
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:patient", []string{"Patient/alice-1001"}},
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:provider", []string{"Organization/fx-org-hospital"}},
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:care-team", []string{"Practitioner/fx-prac-1"}},
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:coverage", []string{"Coverage/fx-cov-alice"}},
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:insurer", []string{"Organization/fx-org-payer"}},
		{"ExplanationOfBenefit?_id=fx-eob-inpatient&_include=ExplanationOfBenefit:payee", []string{"RelatedPerson/fx-rp-alice"}},
		{"ExplanationOfBenefit?_id=fx-eob-professional&_include=ExplanationOfBenefit:*",
			[]string{"Coverage/fx-cov-alice", "Organization/fx-org-hospital", "Organization/fx-org-payer", "Patient/alice-1001", "Practitioner/fx-prac-1"}},
		{"Coverage?_include=Coverage:payor", []string{"Organization/fx-org-payer"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			b := decodeBundle(t, e.get("alice-all", "/fhir/"+escapeQuery(tt.query)))
			if got := b.keys(t, "include"); !slices.Equal(got, tt.included) {
				t.Errorf("included %v, want %v", got, tt.included)
			}
			if len(b.keys(t, "match")) != 1 {
				t.Errorf("matches %v", b.keys(t, "match"))
			}
			u.mu.Lock()
			last := u.asked[len(u.asked)-1]
			u.mu.Unlock()
			_, want, _ := strings.Cut(tt.query, "_include=")
			want = strings.TrimSuffix(want, "*")
			if len(last["_include"]) == 0 || !strings.HasPrefix(last["_include"][0], want) ||
				(strings.HasPrefix(tt.query, "ExplanationOfBenefit") && last.Get("patient") != "Patient/alice-1001") ||
				(strings.HasPrefix(tt.query, "Coverage") && last.Get("patient") != "Patient/alice-1001") {
				t.Errorf("upstream asked %v", last)
			}
		})
	}
	w := e.get("alice-all", "/fhir/ExplanationOfBenefit?_id=fx-eob-pharmacy&_include=ExplanationOfBenefit:payee")
	outcomeCode(t, w, http.StatusBadGateway)
	if strings.Contains(w.Body.String(), "bob") {
		t.Errorf("the withheld answer names bob: %s", w.Body)
	}
}
