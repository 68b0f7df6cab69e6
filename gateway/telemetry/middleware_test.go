package telemetry

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// secrets are planted in every request; none may reach a span.
var secrets = []string{"secret-code", "secret-state", "secret-token", "secret-cookie", "alice-1001", "203.0.113.7", "192.0.2.9"}

// seen is what the handler behind the middleware got.
type seen struct {
	uri, auth, xff, remote string
}

func TestSpansCarryNoSecretsOrIDs(t *testing.T) {
	const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name, method, target string
		wantName, wantRoute  string
		wantPath             string
	}{
		{"FHIR read", "GET", "/fhir/Patient/alice-1001?code=secret-code&state=secret-state",
			"GET /fhir/Patient/{id}", "/fhir/Patient/{id}", "/fhir/Patient/{id}"},
		{"token endpoint", "POST", "/oauth/token?code=secret-code",
			"POST /oauth/token", "/oauth/token", "/oauth/token"},
		{"pattern without method", "GET", "/healthz?token=secret-token",
			"GET /healthz", "/healthz", "/healthz"},
		{"no route matched", "GET", "/fhir/Nope/alice-1001/x?code=secret-code",
			"GET", "", "/fhir/Nope/{id}/x"},
		{"unknown method", "BREW", "/oauth/token?code=secret-code",
			"HTTP", "", "/oauth/token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			var got seen
			record := func(w http.ResponseWriter, r *http.Request) {
				got = seen{r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("X-Forwarded-For"), r.RemoteAddr}
			}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /fhir/Patient/{id}", record)
			mux.HandleFunc("POST /oauth/token", record)
			mux.HandleFunc("/healthz", record)
			h := Middleware(mux, "gateway", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagation.TraceContext{}))

			r := httptest.NewRequest(tc.method, tc.target, nil)
			r.RemoteAddr = "192.0.2.9:40000"
			r.Header.Set("Authorization", "Bearer secret-token")
			r.Header.Set("Cookie", "sid=secret-cookie")
			r.Header.Set("X-Forwarded-For", "203.0.113.7")
			r.Header.Set("Traceparent", "00-"+parentTrace+"-00f067aa0ba902b7-01")
			h.ServeHTTP(httptest.NewRecorder(), r)

			if tc.wantRoute != "" && got != (seen{tc.target, "Bearer secret-token", "203.0.113.7", "192.0.2.9:40000"}) {
				t.Errorf("handler saw %+v, want the original request", got)
			}
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			attrs := map[string]string{}
			dump := s.Name
			for _, a := range s.Attributes {
				attrs[string(a.Key)] = a.Value.Emit()
				dump += fmt.Sprintf(" %s=%s", a.Key, a.Value.Emit())
			}
			for _, e := range s.Events {
				dump += " " + e.Name + fmt.Sprint(e.Attributes)
			}
			for _, bad := range append(secrets, "?") {
				if strings.Contains(dump, bad) {
					t.Errorf("span carries %q: %s", bad, dump)
				}
			}
			if s.Name != tc.wantName || attrs["http.route"] != tc.wantRoute || attrs["url.path"] != tc.wantPath {
				t.Errorf("span %q route %q path %q, want %q %q %q", s.Name, attrs["http.route"], attrs["url.path"],
					tc.wantName, tc.wantRoute, tc.wantPath)
			}
			if s.Parent.TraceID().String() != parentTrace {
				t.Errorf("incoming traceparent not continued: parent %v", s.Parent.TraceID())
			}
		})
	}
}

// TestMiddlewareIdleUntilObserved: while nothing receives spans, the
// middleware hands the request itself to the handler and allocates
// nothing; once something does (Setup, or a provider given as an option),
// it traces.
func TestMiddlewareIdleUntilObserved(t *testing.T) {
	var got *http.Request
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r })
	h := middleware(next, "gateway", func() bool { return false })
	r := httptest.NewRequest("GET", "/fhir/Patient/alice-1001", nil)
	w := httptest.NewRecorder()
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n != 0 {
		t.Errorf("idle middleware: %v allocations per request, want 0", n)
	}
	if got != r {
		t.Error("idle middleware did not hand the request itself to the handler")
	}

	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	Middleware(next, "gateway", otelhttp.WithTracerProvider(tp)).ServeHTTP(w, r)
	if len(exp.GetSpans()) != 1 {
		t.Fatalf("%d spans with a provider given, want 1", len(exp.GetSpans()))
	}
}
