package telemetry

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/patientaccess/gateway/gateway/web"
)

// original is what Middleware hides from otelhttp and gives back to the
// handler behind it.
type original struct {
	url        *url.URL
	requestURI string
	remoteAddr string
	header     http.Header
}

type originalKey struct{}

// Middleware traces each request through otelhttp (opts may add e.g. a
// tracer provider) without letting a secret or a member's identity into
// the span. otelhttp v0.65 records, from the request, url.path, the
// client and peer addresses (from RemoteAddr and X-Forwarded-For), the
// user agent, host, method and scheme; it records no query string and no
// other header. So otelhttp sees a copy of the request whose path has
// member ids masked (web.SafePath), with no query, no RemoteAddr and no
// forwarding headers; the handler behind it gets the real request back.
//
// The span is named "METHOD" when it starts and "METHOD /route/{pattern}"
// once the ServeMux behind has matched a route (r.Pattern, which holds no
// values); the route is also recorded as http.route. The raw URL never
// names a span.
//
// Without opts, the middleware traces through the global providers, and
// only once something is installed there (Setup with an endpoint, or any
// global tracer or meter provider or propagator): until then a request
// goes straight to next, since a span, metrics and a context nobody
// receives would only cost the request about 3 KB of allocations.
func Middleware(next http.Handler, operation string, opts ...otelhttp.Option) http.Handler {
	observed := installed
	if len(opts) > 0 {
		observed = func() bool { return true }
	}
	return middleware(next, operation, observed, opts...)
}

// The global OpenTelemetry providers and propagator as the process starts,
// before anything is installed: the no-op ones.
var (
	defaultTracerProvider = otel.GetTracerProvider()
	defaultMeterProvider  = otel.GetMeterProvider()
	defaultPropagator     = otel.GetTextMapPropagator()
)

// installed reports whether a global tracer or meter provider or
// propagator has been installed since the process started. (The defaults
// are pointers, so the comparisons cannot panic.)
func installed() bool {
	return otel.GetTracerProvider() != defaultTracerProvider || otel.GetMeterProvider() != defaultMeterProvider ||
		otel.GetTextMapPropagator() != defaultPropagator
}

// middleware is Middleware that traces a request only when observed says
// something receives its span.
func middleware(next http.Handler, operation string, observed func() bool, opts ...otelhttp.Option) http.Handler {
	restore := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o, ok := r.Context().Value(originalKey{}).(*original); ok {
			r.URL, r.RequestURI, r.RemoteAddr, r.Header = o.url, o.requestURI, o.remoteAddr, o.header
		}
		next.ServeHTTP(w, r)
		if r.Pattern != "" {
			trace.SpanFromContext(r.Context()).SetAttributes(semconv.HTTPRoute(route(r.Pattern)))
		}
	})
	opts = append(opts, otelhttp.WithSpanNameFormatter(spanName))
	traced := otelhttp.NewHandler(restore, operation, opts...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !observed() {
			next.ServeHTTP(w, r)
			return
		}
		o := &original{url: r.URL, requestURI: r.RequestURI, remoteAddr: r.RemoteAddr, header: r.Header}
		traced.ServeHTTP(w, sanitized(r.WithContext(context.WithValue(r.Context(), originalKey{}, o))))
	})
}

// sanitized changes r (a fresh copy) into what otelhttp may see.
func sanitized(r *http.Request) *http.Request {
	safe := &url.URL{Scheme: r.URL.Scheme, Host: r.URL.Host, Path: web.SafePath(r.URL.Path)}
	r.URL = safe
	r.RequestURI = safe.Path
	r.RemoteAddr = ""
	r.Header = r.Header.Clone() // keeps traceparent for the propagator
	for _, h := range []string{"Authorization", "Cookie", "X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		r.Header.Del(h)
	}
	return r
}

// spanName is the method alone until a route matched, then the method and
// the route pattern (OTel HTTP semantic conventions: "{method} {route}").
func spanName(_ string, r *http.Request) string {
	m := method(r.Method)
	if r.Pattern == "" {
		return m
	}
	return m + " " + route(r.Pattern)
}

// route is a ServeMux pattern without its method ("GET /fhir/{type}" →
// "/fhir/{type}").
func route(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return strings.TrimSpace(pattern[i+1:])
	}
	return pattern
}

// method keeps span names few: a method outside RFC 9110's set is "HTTP".
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "HTTP"
}
