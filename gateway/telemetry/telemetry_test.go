package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestSpansCarryNoSecretsOrIDs: spans name the route shape, never the
// query string, the Authorization header or a member's resource id; and
// the handler still sees the real URL.
func TestSpansCarryNoSecretsOrIDs(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	var seen string
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.URL.String()
	}), "test", otelhttp.WithTracerProvider(tp))
	r := httptest.NewRequest("GET", "/fhir/Patient/alice-1001?code=secret-code&state=s", nil)
	r.Header.Set("Authorization", "Bearer secret-token")
	h.ServeHTTP(httptest.NewRecorder(), r)

	if seen != "/fhir/Patient/alice-1001?code=secret-code&state=s" {
		t.Fatalf("handler saw %q, want the original URL", seen)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	dump := spans[0].Name
	for _, a := range spans[0].Attributes {
		dump += fmt.Sprintf(" %s=%s", a.Key, a.Value.Emit())
	}
	for _, bad := range []string{"secret-code", "secret-token", "alice-1001", "state=s"} {
		if strings.Contains(dump, bad) {
			t.Errorf("span carries %q: %s", bad, dump)
		}
	}
	if spans[0].Name != "GET /fhir/Patient/{id}" {
		t.Errorf("span name %q", spans[0].Name)
	}
}

func TestSetupWithoutEndpointIsNoop(t *testing.T) {
	shutdown, err := Setup(context.Background(), "test", func(string) string { return "" })
	if err != nil || shutdown(context.Background()) != nil {
		t.Fatalf("Setup without endpoint: %v", err)
	}
}
