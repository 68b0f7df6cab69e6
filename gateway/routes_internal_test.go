package gateway

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/patientaccess/gateway/fhir"
)

// TestServedWholeHasRoute: every request notFoundPage sends to the mux
// without looking its route up first (servedWhole) has a route, as that
// lookup would have found, so skipping it changes no answer: odd paths
// (dots, double slashes, escapes, a trailing slash) and methods included.
// Paths the mux would redirect or might not serve are looked up as before.
func TestServedWholeHasRoute(t *testing.T) {
	mux := http.NewServeMux()
	(&fhir.Handler{}).Mount(mux)
	mux.HandleFunc("GET /account", func(http.ResponseWriter, *http.Request) {})
	whole := servedWhole(mux, "/fhir/")
	paths := []string{"/fhir/Patient/1", "/fhir/Patient", "/fhir/Patient/", "/fhir/", "/fhir", "/fhir/metadata",
		"/fhir/Patient/1/$everything", "/fhir/a/b/c/d", "/fhir//Patient", "/fhir/./Patient", "/fhir/../account",
		"/fhir/Patient/..", "/fhir/Patient/.", "/fhir/Patient/%2E%2E", "/fhir/a%2Fb/1", "/fhirx/1", "/account", "/"}
	methods := []string{"GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PROPFIND", "CONNECT"}
	skipped := 0
	for _, p := range paths {
		u, err := url.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range methods {
			r := &http.Request{Method: m, URL: u, Host: "gw.example"}
			if !whole(r) {
				continue
			}
			skipped++
			if h, pattern := mux.Handler(r); pattern == "" {
				t.Errorf("%s %s skips the route lookup, which finds none (%T)", m, p, h)
			}
		}
	}
	if skipped == 0 {
		t.Fatal("no request skips the lookup: the FHIR API's catch-all was not found")
	}
	r := &http.Request{Method: "GET", URL: &url.URL{Path: "/fhir/Patient/1"}}
	if !whole(r) {
		t.Error("a FHIR read's path is looked up before the mux routes it")
	}
	if servedWhole(mux, "/account/")(&http.Request{Method: "GET", URL: &url.URL{Path: "/account/x"}}) {
		t.Error("a prefix with no catch-all of its own is taken as served whole")
	}
}
