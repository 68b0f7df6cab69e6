package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// keepGlobals restores the global provider and propagator Setup may set.
func keepGlobals(t *testing.T) {
	tp, prop := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		if otel.GetTracerProvider() != tp {
			otel.SetTracerProvider(tp)
		}
		if otel.GetTextMapPropagator() != prop {
			otel.SetTextMapPropagator(prop)
		}
	})
}

func TestSetupOff(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
	}{
		{"no endpoint", nil, false},
		{"SDK disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "TRUE"}, false},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"}, false},
		{"endpoint without scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, true},
		{"traces endpoint not http", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "grpc://collector:4317"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keepGlobals(t)
			before, wasInstalled := otel.GetTracerProvider(), installed()
			shutdown, err := Setup(context.Background(), "test", func(k string) string { return tc.env[k] })
			if (err != nil) != tc.wantErr {
				t.Fatalf("Setup error %v, want error %v", err, tc.wantErr)
			}
			if shutdown == nil || shutdown(context.Background()) != nil {
				t.Error("shutdown is not a working no-op")
			}
			if otel.GetTracerProvider() != before || installed() != wasInstalled {
				t.Error("Setup registered a tracer provider while tracing is off")
			}
		})
	}
}

// collector is a fake OTLP/HTTP receiver that records request paths.
type collector struct {
	mu    sync.Mutex
	paths []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/x-protobuf" {
		c.paths = append(c.paths, r.URL.Path)
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func TestSetupExports(t *testing.T) {
	tests := []struct {
		name, key, suffix, wantPath string
	}{
		{"base endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", "", "/v1/traces"},
		{"base endpoint with path", "OTEL_EXPORTER_OTLP_ENDPOINT", "/otlp/", "/otlp/v1/traces"},
		{"traces endpoint as is", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/custom/traces", "/custom/traces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keepGlobals(t)
			col := &collector{}
			srv := httptest.NewServer(col)
			defer srv.Close()
			env := map[string]string{tc.key: srv.URL + tc.suffix}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			shutdown, err := Setup(ctx, "test", func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); !ok {
				t.Fatalf("global provider is %T", otel.GetTracerProvider())
			}
			if !installed() {
				t.Error("the middleware does not see the provider Setup installed")
			}
			if !slices.Contains(otel.GetTextMapPropagator().Fields(), "traceparent") {
				t.Errorf("propagator fields %v lack traceparent", otel.GetTextMapPropagator().Fields())
			}
			_, span := otel.Tracer("test").Start(ctx, "work")
			span.End()
			if err := shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			col.mu.Lock()
			defer col.mu.Unlock()
			if !slices.Equal(col.paths, []string{tc.wantPath}) {
				t.Errorf("collector got %v, want one export to %s", col.paths, tc.wantPath)
			}
		})
	}
}
