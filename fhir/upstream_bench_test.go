package fhir

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

// cannedUpstream is a RoundTripper answering every call with fixed bytes,
// so that a benchmark or an allocation count measures the gateway's own
// work on an upstream's answer, not a server's or a socket's.
type cannedUpstream struct {
	read, search []byte
	one          []byte // a searchset of the first claim alone, for a search on _id
	oneID        string
}

func (c cannedUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	body := c.search
	switch {
	case !strings.HasSuffix(r.URL.Path, "/ExplanationOfBenefit"):
		body = c.read
	case r.URL.Query().Get("_id") != "":
		body = c.one
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/fhir+json"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// cannedEnv is a Handler in upstream mode whose upstream answers alice's
// own Patient and a searchset of all her claims (as the load harness's
// upstream does: fullUrl, resource and search mode per entry, a self link
// and the total).
func cannedEnv(tb testing.TB) (*testEnv, cannedUpstream) {
	demo := NewMemorySource()
	if err := LoadDemo(demo); err != nil {
		tb.Fatal(err)
	}
	alice := DemoMembers()[0].PatientID
	var keys []string
	for key, s := range demo.byKey {
		if strings.HasPrefix(key, "ExplanationOfBenefit/") && s.patient == alice {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	var b bytes.Buffer
	const host = "http://fhir.upstream.example/r4/"
	b.WriteString(`{"resourceType":"Bundle","type":"searchset","total":` + itoa(len(keys)) +
		`,"link":[{"relation":"self","url":"` + host + `ExplanationOfBenefit?patient=Patient/` + alice + `&_count=20"}],"entry":[`)
	for i, key := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"fullUrl":"` + host + key + `","resource":`)
		b.Write(demo.byKey[key].raw)
		b.WriteString(`,"search":{"mode":"match"}}`)
	}
	b.WriteString("]}")
	one := `{"resourceType":"Bundle","type":"searchset","total":1,"entry":[{"fullUrl":"` + host + keys[0] + `","resource":` +
		string(demo.byKey[keys[0]].raw) + `,"search":{"mode":"match"}}]}`
	canned := cannedUpstream{read: demo.byKey["Patient/"+alice].raw, search: b.Bytes(), one: []byte(one),
		oneID: strings.TrimPrefix(keys[0], "ExplanationOfBenefit/")}
	up, err := NewUpstream(UpstreamConfig{BaseURL: "http://upstream.test/r4"})
	if err != nil {
		tb.Fatal(err)
	}
	up.transport = canned
	return newTestEnvWith(tb, up), canned
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// BenchmarkUpstreamSearch is an EOB search by patient in upstream mode,
// the upstream's answer canned: the gateway's work on a page of claims
// (reading the searchset, checking every resource, writing the Bundle).
func BenchmarkUpstreamSearch(b *testing.B) {
	e, canned := cannedEnv(b)
	r := newRequest(http.MethodGet, "/fhir/ExplanationOfBenefit?patient="+e.alice.PatientID+"&_count=20", "Bearer alice")
	b.SetBytes(int64(len(canned.search)))
	b.ReportAllocs()
	for b.Loop() {
		if w := serve(e.mux, r); w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkUpstreamRead is a read of the member's own Patient in upstream
// mode, the upstream's answer canned.
func BenchmarkUpstreamRead(b *testing.B) {
	e, _ := cannedEnv(b)
	r := newRequest(http.MethodGet, "/fhir/Patient/"+e.alice.PatientID, "Bearer alice")
	b.ReportAllocs()
	for b.Loop() {
		if w := serve(e.mux, r); w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// TestUpstreamSearchAllocations: the gateway's work on an upstream's page
// of claims allocates less than half the page: the body is read into a
// pooled buffer, given back once the Bundle is written (it was read
// through a dozen growing buffers with io.ReadAll, twice the page), and
// the searchset is read in one pass, each resource's facts on the way,
// not decoded with encoding/json and then every resource again.
func TestUpstreamSearchAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector a sync.Pool drops what it is given at random")
	}
	e, canned := cannedEnv(t)
	target := "/fhir/ExplanationOfBenefit?patient=" + e.alice.PatientID + "&_count=20"
	search := func() {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Authorization", "Bearer alice")
		w := &discardWriter{header: http.Header{}}
		e.mux.ServeHTTP(w, r)
		if w.code != 0 && w.code != http.StatusOK || w.n < len(canned.search)/2 {
			t.Fatalf("search: %d, %d bytes", w.code, w.n)
		}
	}
	search()
	page := len(canned.search)
	perSearch, allocs := allocatedPer(50, search)
	t.Logf("%d-byte page: %d bytes in %d allocations per search", page, perSearch, allocs)
	if limit := page / 2; perSearch > limit {
		t.Errorf("a search of a %d-byte upstream page allocated %d bytes, over %d", page, perSearch, limit)
	}
	if allocs > 160 {
		t.Errorf("a search of an upstream page of %d claims made %d allocations, over 160", bytes.Count(canned.search, []byte(`"fullUrl"`)), allocs)
	}
}

// TestUpstreamReadAllocations: a read of the member's own Patient in
// upstream mode (the upstream's answer canned) allocates within its
// budget: the call goes to the transport directly (an http.Client cloned
// its headers for redirects the gateway never follows, and set a second
// deadline), under the request's deadline when that comes sooner than the
// call's own, and the body is read into a pooled buffer.
func TestUpstreamReadAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector a sync.Pool drops what it is given at random")
	}
	e, _ := cannedEnv(t)
	target := "/fhir/Patient/" + e.alice.PatientID
	read := func() {
		r := newRequest(http.MethodGet, target, "Bearer alice")
		w := &discardWriter{header: http.Header{}}
		e.mux.ServeHTTP(w, r)
		if w.code != 0 && w.code != http.StatusOK {
			t.Fatalf("read: %d", w.code)
		}
	}
	read()
	perRead, allocs := allocatedPer(200, read)
	t.Logf("%d bytes in %d allocations per read", perRead, allocs)
	if perRead > 5<<10 || allocs > 48 {
		t.Errorf("a read in upstream mode allocated %d bytes in %d allocations, over 5 KiB or 48", perRead, allocs)
	}
}

// BenchmarkUpstreamReadClaim is a read of one of the member's claims by id
// in upstream mode, which goes upstream as a search on _id within her
// compartment (the upstream's answer canned): the searchset is read with
// the claim's facts, which the Handler checks without reading it again.
func BenchmarkUpstreamReadClaim(b *testing.B) {
	e, canned := cannedEnv(b)
	r := newRequest(http.MethodGet, "/fhir/ExplanationOfBenefit/"+canned.oneID, "Bearer alice")
	b.ReportAllocs()
	for b.Loop() {
		if w := serve(e.mux, r); w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
