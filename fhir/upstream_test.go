package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// fakeUpstream is a FHIR server under test control: it serves the demo data
// honestly, restricted by the patient parameter as a real server would,
// unless a test sets misbehave. It records every request.
type fakeUpstream struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	got []*url.URL
	// misbehave, when set, answers instead of the honest handler.
	misbehave func(w http.ResponseWriter, r *http.Request) bool
	demo      *MemorySource
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	f := &fakeUpstream{t: t, demo: NewMemorySource()}
	if err := LoadDemo(f.demo); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeUpstream) base() string { return f.srv.URL + "/r4" }

func (f *fakeUpstream) requests() []*url.URL {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*url.URL(nil), f.got...)
}

func (f *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.got = append(f.got, r.URL)
	bad := f.misbehave
	f.mu.Unlock()
	if bad != nil && bad(w, r) {
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/r4/")
	if path == "metadata" {
		_, _ = w.Write([]byte(upstreamMetadata))
		return
	}
	typ, id, isRead := strings.Cut(path, "/")
	if isRead {
		raw, ok := f.demo.byKey[typ+"/"+id]
		if !ok {
			http.Error(w, `{"resourceType":"OperationOutcome"}`, http.StatusNotFound)
			return
		}
		_, _ = w.Write(raw.raw)
		return
	}
	f.searchset(w, r, typ)
}

// searchset answers a search honestly from the demo data: the patient
// parameter (or _id on Patient) chooses the compartment; _id narrows.
func (f *fakeUpstream) searchset(w http.ResponseWriter, r *http.Request, typ string) {
	q := r.URL.Query()
	patient := strings.TrimPrefix(q.Get("patient"), "Patient/")
	if typ == "Patient" {
		patient = q.Get("_id")
	}
	var entries []string
	for key, s := range f.demo.byKey {
		if strings.HasPrefix(key, typ+"/") && s.patient == patient && (q.Get("_id") == "" || q.Get("_id") == s.id) {
			entries = append(entries, string(s.raw))
		}
	}
	sort.Strings(entries) // the same answer every time
	f.writeBundle(w, entries, nil, "")
}

func (f *fakeUpstream) writeBundle(w http.ResponseWriter, match, include []string, next string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"resourceType":"Bundle","type":"searchset","total":%d,"link":[`, len(match))
	if next != "" {
		fmt.Fprintf(&b, `{"relation":"next","url":%q}`, next)
	}
	b.WriteString(`],"entry":[`)
	for i, e := range append(match, include...) {
		mode := "match"
		if i >= len(match) {
			mode = "include"
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"resource":%s,"search":{"mode":%q}}`, e, mode)
	}
	b.WriteString("]}")
	w.Header().Set("Content-Type", "application/fhir+json")
	_, _ = w.Write(b.Bytes())
}

const upstreamMetadata = `{"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1","rest":[{"mode":"server","resource":[
{"type":"Patient","interaction":[{"code":"read"},{"code":"search-type"}]},
{"type":"Coverage","interaction":[{"code":"read"},{"code":"search-type"}],"searchParam":[{"name":"patient"}]},
{"type":"ExplanationOfBenefit","interaction":[{"code":"read"},{"code":"search-type"}],"searchParam":[{"name":"patient"},{"name":"type"}],
 "searchInclude":["ExplanationOfBenefit:patient"]},
{"type":"Organization","interaction":[{"code":"read"}]}]}]}`

// upstreamEnv is a Handler in front of the fake upstream.
func upstreamEnv(t *testing.T, cfg UpstreamConfig) (*testEnv, *fakeUpstream, *Upstream) {
	f := newFakeUpstream(t)
	cfg.BaseURL = f.base()
	up, err := NewUpstream(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newTestEnvWith(t, up), f, up
}

func TestUpstreamReadsAndSearchesStayInTheCompartment(t *testing.T) {
	e, f, _ := upstreamEnv(t, UpstreamConfig{})
	alice, bob := e.alice.PatientID, e.bob.PatientID
	eobs := decodeBundle(t, e.get("alice", "/fhir/ExplanationOfBenefit"))
	if len(eobs.Entry) == 0 {
		t.Fatal("alice has no claims through the upstream")
	}
	for _, u := range f.requests() {
		if u.Query().Get("patient") != "Patient/"+alice {
			t.Errorf("upstream was asked %s without alice's compartment", u)
		}
	}
	own := eobs.ids(t)[0]
	if w := e.get("alice", "/fhir/ExplanationOfBenefit/"+own); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), f.demo.byKey["ExplanationOfBenefit/"+own].raw) {
		t.Fatalf("read of own claim: %d", w.Code)
	}
	last := f.requests()[len(f.requests())-1]
	if last.Path != "/r4/ExplanationOfBenefit" || last.Query().Get("_id") != own || last.Query().Get("patient") != "Patient/"+alice {
		t.Errorf("a read went upstream as %s, want a search on _id within alice's compartment", last)
	}
	bobEOB := decodeBundle(t, e.get("bob", "/fhir/ExplanationOfBenefit")).ids(t)[0]
	missing := e.get("alice", "/fhir/ExplanationOfBenefit/no-such-claim")
	for _, path := range []string{"/fhir/ExplanationOfBenefit/" + bobEOB, "/fhir/Patient/" + bob} {
		w := e.get("alice", path)
		if w.Code != 404 || w.Body.String() != missing.Body.String() {
			t.Errorf("alice reading %s: %d %s", path, w.Code, w.Body)
		}
	}
	before := len(f.requests())
	e.get("alice", "/fhir/Patient/"+bob)
	if len(f.requests()) != before {
		t.Error("a read of another member's Patient was sent upstream")
	}
	if b := decodeBundle(t, e.get("alice", "/fhir/Coverage?patient="+bob)); b.Total != 0 {
		t.Errorf("patient=bob found %d", b.Total)
	}
}

// TestUpstreamMisbehaving: every way an upstream can answer wrongly gets
// the documented status, and no byte of another member's data leaves.
func TestUpstreamMisbehaving(t *testing.T) {
	e, f, _ := upstreamEnv(t, UpstreamConfig{Timeout: 20 * time.Second, FailuresToOpen: 100})
	bob := e.bob.PatientID
	bobPatient := string(f.demo.byKey["Patient/"+bob].raw)
	bobEOB := ""
	for key, s := range f.demo.byKey {
		if strings.HasPrefix(key, "ExplanationOfBenefit/") && s.patient == bob {
			bobEOB = string(s.raw)
			break
		}
	}
	aliceEOB := ""
	for key, s := range f.demo.byKey {
		if strings.HasPrefix(key, "ExplanationOfBenefit/") && s.patient == e.alice.PatientID {
			aliceEOB = string(s.raw)
			break
		}
	}
	huge := `{"resourceType":"Bundle","type":"searchset","entry":[],"pad":"` + strings.Repeat("x", 10<<20) + `"}`
	tests := []struct {
		name   string
		path   string
		answer func(w http.ResponseWriter, r *http.Request)
		status int
	}{
		{"another member's resource in a search", "/fhir/ExplanationOfBenefit", func(w http.ResponseWriter, r *http.Request) {
			f.writeBundle(w, []string{aliceEOB, bobEOB}, nil, "")
		}, 502},
		{"an _include outside the compartment", "/fhir/ExplanationOfBenefit?_include=ExplanationOfBenefit:patient", func(w http.ResponseWriter, r *http.Request) {
			f.writeBundle(w, []string{aliceEOB}, []string{bobPatient}, "")
		}, 502},
		{"another member's resource for a read", "/fhir/ExplanationOfBenefit/x", func(w http.ResponseWriter, r *http.Request) {
			f.writeBundle(w, []string{bobEOB}, nil, "")
		}, 404},
		{"a next link leaving the base", "/fhir/ExplanationOfBenefit", func(w http.ResponseWriter, r *http.Request) {
			f.writeBundle(w, []string{aliceEOB}, nil, "http://elsewhere.example/other/ExplanationOfBenefit?page=2")
		}, 502},
		{"malformed JSON", "/fhir/ExplanationOfBenefit", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + bobEOB[:40]))
		}, 502},
		{"not a searchset", "/fhir/ExplanationOfBenefit", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(bobPatient))
		}, 502},
		{"a 10 MB body", "/fhir/ExplanationOfBenefit", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(huge))
		}, 502},
		{"a 500 naming another member", "/fhir/ExplanationOfBenefit", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"Patient/` + bob + ` lock"}]}`))
		}, 502},
		{"an upstream that is overloaded", "/fhir/ExplanationOfBenefit", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
		}, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			f.misbehave = func(w http.ResponseWriter, r *http.Request) bool { tt.answer(w, r); return true }
			f.mu.Unlock()
			e.audit.take()
			w := e.get("alice", tt.path)
			outcomeCode(t, w, tt.status)
			if strings.Contains(w.Body.String(), bob) {
				t.Errorf("answer carries bob's data: %s", w.Body)
			}
			if tt.status == 503 && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			ev := e.audit.take()
			if len(ev) != 1 || ev[0].Outcome == "success" {
				t.Errorf("audit %+v, want one failure", ev)
			}
		})
	}
	f.mu.Lock()
	f.misbehave = nil
	f.mu.Unlock()
	if w := e.get("alice", "/fhir/ExplanationOfBenefit"); w.Code != 200 {
		t.Fatalf("after the upstream behaves again: %d", w.Code)
	}
}

// TestUpstreamHangs: an upstream that never answers gets 504 once the
// call's bound has passed, not a hung request.
func TestUpstreamHangs(t *testing.T) {
	e, f, _ := upstreamEnv(t, UpstreamConfig{Timeout: 300 * time.Millisecond})
	f.misbehave = func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return true
	}
	start := time.Now()
	if code, _ := outcomeCode(t, e.get("alice", "/fhir/Coverage"), http.StatusGatewayTimeout); code != "timeout" {
		t.Errorf("issue code %q, want timeout", code)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the hung call took %s", took)
	}
}

// TestUpstreamNextLinks: the upstream's next link becomes a gateway link
// whose cursor keeps only the path and query under the configured base (a
// foreign host in it is never contacted), and an edited cursor is refused.
func TestUpstreamNextLinks(t *testing.T) {
	e, f, _ := upstreamEnv(t, UpstreamConfig{})
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the foreign host of a next link was contacted: %s", r.URL)
	}))
	defer elsewhere.Close()
	f.misbehave = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/r4/ExplanationOfBenefit") {
			return false
		}
		if r.URL.Query().Get("page") == "2" {
			f.writeBundle(w, nil, nil, "")
			return true
		}
		f.writeBundle(w, nil, nil, elsewhere.URL+"/r4/ExplanationOfBenefit?patient=Patient/"+e.alice.PatientID+"&page=2")
		return true
	}
	next := decodeBundle(t, e.get("alice", "/fhir/ExplanationOfBenefit?_count=1")).link("next")
	if !strings.HasPrefix(next, testBase+"/ExplanationOfBenefit?") || strings.Contains(next, elsewhere.URL) || strings.Contains(next, f.srv.URL) {
		t.Fatalf("next link %q does not point at the gateway", next)
	}
	decodeBundle(t, e.get("alice", next))
	last := f.requests()[len(f.requests())-1]
	if last.Query().Get("page") != "2" {
		t.Fatalf("the cursor was not followed on the configured upstream: %s", last)
	}
	u, _ := url.Parse(next)
	q := u.Query()
	q.Set("_page", q.Get("_page")+"x")
	outcomeCode(t, e.get("alice", "/fhir/ExplanationOfBenefit?"+q.Encode()), http.StatusBadRequest)
	outcomeCode(t, e.get("bob", next), http.StatusBadRequest)
}

// TestUpstreamBreakerOpensAndRecovers: after consecutive failures the API
// answers 503 with Retry-After without calling the upstream, and serves
// again once a trial call succeeds.
func TestUpstreamBreakerOpensAndRecovers(t *testing.T) {
	e, f, _ := upstreamEnv(t, UpstreamConfig{FailuresToOpen: 3, OpenFor: 200 * time.Millisecond})
	f.misbehave = func(w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(500); return true }
	for range 3 {
		outcomeCode(t, e.get("alice", "/fhir/Coverage"), http.StatusBadGateway)
	}
	calls := len(f.requests())
	w := e.get("alice", "/fhir/Coverage")
	outcomeCode(t, w, http.StatusServiceUnavailable)
	if w.Header().Get("Retry-After") == "" || len(f.requests()) != calls {
		t.Fatalf("open breaker: Retry-After %q, upstream calls %d → %d", w.Header().Get("Retry-After"), calls, len(f.requests()))
	}
	f.mu.Lock()
	f.misbehave = nil
	f.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for e.get("alice", "/fhir/Coverage").Code != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the breaker did not close after the upstream recovered")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestUpstreamServedTypes(t *testing.T) {
	f := newFakeUpstream(t)
	up, err := NewUpstream(UpstreamConfig{BaseURL: f.base()})
	if err != nil {
		t.Fatal(err)
	}
	served, dropped, err := up.ServedTypes(t.Context(), catalog.All())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, typ := range served {
		var names []string
		for _, p := range typ.Params {
			names = append(names, p.Name)
		}
		for _, inc := range typ.Includes {
			names = append(names, "include:"+inc.Name)
		}
		got[typ.Name] = names
	}
	want := map[string]string{
		"Patient": "identifier", "Coverage": "patient", "ExplanationOfBenefit": "patient type include:patient",
	}
	if len(got) != len(want) {
		t.Fatalf("served %v (dropped %v), want %v", got, dropped, want)
	}
	for typ, names := range want {
		if strings.Join(got[typ], " ") != names {
			t.Errorf("%s: %v, want %s", typ, got[typ], names)
		}
	}
	if len(dropped) == 0 {
		t.Error("no reasons for the dropped types")
	}
	js, _ := json.Marshal(dropped)
	if !strings.Contains(string(js), "Organization") {
		t.Errorf("Organization (declared without search) should be dropped: %s", js)
	}
}

// TestUpstreamPooledBodiesStayWithTheirCall: upstream answers are read
// into buffers used again by later calls, so a buffer given back while
// its call still wrote from it would put one member's data into another's
// answer. Alice's and bob's reads and searches, run at once, each answer
// exactly what they answer alone.
func TestUpstreamPooledBodiesStayWithTheirCall(t *testing.T) {
	e, _, _ := upstreamEnv(t, UpstreamConfig{})
	type call struct{ token, path string }
	var calls []call
	for _, m := range []struct{ token, patient string }{{"alice", e.alice.PatientID}, {"bob", e.bob.PatientID}} {
		calls = append(calls, call{m.token, "/fhir/ExplanationOfBenefit"}, call{m.token, "/fhir/Patient/" + m.patient},
			call{m.token, "/fhir/Coverage"})
		eob := decodeBundle(t, e.get(m.token, "/fhir/ExplanationOfBenefit")).ids(t)[0]
		calls = append(calls, call{m.token, "/fhir/ExplanationOfBenefit/" + eob})
	}
	want := map[call]string{}
	for _, c := range calls {
		w := e.get(c.token, c.path)
		if w.Code != http.StatusOK {
			t.Fatalf("%s %s: %d", c.token, c.path, w.Code)
		}
		want[c] = w.Body.String()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				c := calls[(g+i)%len(calls)]
				if got := e.get(c.token, c.path).Body.String(); got != want[c] {
					t.Errorf("%s %s answered other bytes under load than alone", c.token, c.path)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestUpstreamBaseURLCredentials: credentials in the configured base URL
// are sent with Basic authentication, as an http.Client sends them.
func TestUpstreamBaseURLCredentials(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, _ := r.BasicAuth()
		got <- user + ":" + password + " " + r.Header.Get("Accept")
		_, _ = w.Write([]byte(`{"resourceType":"Organization","id":"o"}`))
	}))
	defer srv.Close()
	up, err := NewUpstream(UpstreamConfig{BaseURL: strings.Replace(srv.URL, "http://", "http://gw:s%40cret@", 1) + "/r4"})
	if err != nil {
		t.Fatal(err)
	}
	org, _ := catalog.Lookup("Organization")
	if _, err := up.Read(t.Context(), ReadQuery{Type: org, ID: "o"}); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "gw:s@cret application/fhir+json" {
		t.Errorf("upstream saw %q", g)
	}
}
