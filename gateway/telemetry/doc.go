// Package telemetry sets up OpenTelemetry tracing for the gateway: OTLP/HTTP
// export when the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, nothing at all otherwise; and
// the HTTP middleware that traces requests without recording what carries a
// secret (query strings, Authorization and Cookie headers) or identifies a
// member (FHIR ids in paths, client IP addresses).
package telemetry
