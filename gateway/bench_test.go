package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// BenchmarkFHIRRead measures the whole FHIR read path in process: the
// middleware stack, the real token check (fosite HMAC + store reads of the
// token, the app and the grant), the scope and compartment checks, and
// encoding. The baseline serves the same bytes from a bare handler in the
// same run, so the figures can be read as a ratio on a noisy machine.
func BenchmarkFHIRRead(b *testing.B) {
	for name, open := range stores(b) {
		b.Run(name, func(b *testing.B) {
			h := newHarness(b, open)
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			path := "/fhir/Patient/" + h.patient["alice"]
			req := func() *http.Request { return bareRequest(path, tok.AccessToken) }
			rec := httptest.NewRecorder()
			h.gw.Handler.ServeHTTP(rec, req())
			if rec.Code != 200 {
				b.Fatalf("read: %d %s", rec.Code, rec.Body)
			}
			body := rec.Body.Bytes()
			b.Run("baseline", func(b *testing.B) {
				bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "application/fhir+json")
					_, _ = w.Write(body)
				})
				w := &discard{}
				for b.Loop() {
					bare.ServeHTTP(w.reset(), req())
				}
			})
			b.Run("gateway", func(b *testing.B) {
				w := &discard{}
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for b.Loop() {
					h.gw.Handler.ServeHTTP(w.reset(), req())
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				// What stays on the heap per read: the in-memory store keeps
				// each read's audit event (for the audit retention); on
				// Redis the events are in Redis and this stays near zero.
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "heap-kept-B/op")
			})
		})
	}
}

// bareRequest is a token-bearing GET as a server hands it over, built with
// as little as the net/http server allocates for it (httptest.NewRequest
// allocates a 4 KB reader per call, which is not the gateway's).
func bareRequest(path, token string) *http.Request {
	r, _ := http.NewRequest("GET", path, nil)
	r.RemoteAddr = "192.0.2.1:1234"
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// discard is a ResponseWriter that keeps nothing; like the net/http
// server's, its header map is reused from one request to the next.
type discard struct{ h http.Header }

// reset empties the header map for the next request.
func (d *discard) reset() *discard {
	if d.h == nil {
		d.h = http.Header{}
	}
	clear(d.h)
	return d
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (d *discard) WriteHeader(int)             {}
