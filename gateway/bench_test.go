package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
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
			req := func() *http.Request {
				r := httptest.NewRequest("GET", path, nil)
				r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				return r
			}
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
				for b.Loop() {
					bare.ServeHTTP(discard{}, req())
				}
			})
			b.Run("gateway", func(b *testing.B) {
				for b.Loop() {
					h.gw.Handler.ServeHTTP(discard{}, req())
				}
			})
		})
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (discard) WriteHeader(int)             {}
