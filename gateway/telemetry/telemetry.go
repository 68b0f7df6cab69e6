// Package telemetry sets up OpenTelemetry tracing for the gateway: OTLP/HTTP
// export when the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, a no-op otherwise; and the
// HTTP middleware that traces requests without recording what identifies a
// member (FHIR ids in paths) or carries a secret (query strings, headers).
package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/patientaccess/gateway/gateway/web"
)

// Setup installs the global tracer provider. With no OTLP endpoint in the
// environment nothing is started and shutdown is a no-op.
func Setup(ctx context.Context, serviceName string, getenv func(string) string) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return noop, nil
	}
	exp, err := otlptracehttp.New(ctx) // reads the standard OTEL_* variables itself
	if err != nil {
		return noop, fmt.Errorf("otlp trace exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(serviceName))),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, nil
}

type origURLKey struct{}

// Middleware traces each request through otelhttp. otelhttp records the
// URL path, so the span sees a copy of the request whose path has member
// ids replaced (web.SafePath) and no query string; the handler behind it
// gets the original URL back.
func Middleware(next http.Handler, operation string, opts ...otelhttp.Option) http.Handler {
	restore := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := r.Context().Value(origURLKey{}).(*url.URL); ok {
			r.URL = u
		}
		next.ServeHTTP(w, r)
	})
	opts = append(opts, otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		return r.Method + " " + r.URL.Path
	}))
	traced := otelhttp.NewHandler(restore, operation, opts...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		safe := *r.URL
		safe.Path, safe.RawPath, safe.RawQuery, safe.Fragment = web.SafePath(r.URL.Path), "", "", ""
		r2 := r.WithContext(context.WithValue(r.Context(), origURLKey{}, r.URL))
		r2.URL = &safe
		traced.ServeHTTP(w, r2)
	})
}
