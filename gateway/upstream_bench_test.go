package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/patientaccess/gateway/gateway"
)

// BenchmarkUpstreamRead compares, in the same run, a token-bearing read of
// the member's Patient through the gateway in front of Medplum with the
// same read through a bare httputil.ReverseProxy to the same Medplum (which
// adds the upstream token and nothing else). Both are real HTTP servers
// driven by parallel clients; read the ratio of the two ns/op (throughput
// = 1/ns/op), not the absolute figures.
func BenchmarkUpstreamRead(b *testing.B) {
	m := startMedplum(b)
	h := newHarnessWith(b, memoryStore, func(c *gateway.Config) { c.Upstream = m.upstream })
	tok := h.launchAs(h.registerApp(false, "approved"), "alice")
	path := "/fhir/Patient/" + h.patient["alice"]

	req, _ := http.NewRequest("GET", m.url, nil)
	if err := m.auth.Authorize(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	upstreamBearer := req.Header.Get("Authorization")
	target, _ := url.Parse(m.root)
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Header.Set("Authorization", upstreamBearer)
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	})
	b.Cleanup(proxy.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(b *testing.B, u, bearer string) {
		r, _ := http.NewRequest("GET", u, nil)
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", u, resp.StatusCode)
		}
	}
	for range 300 { // warm Node's JIT and both connection pools before measuring
		get(b, proxy.URL+path, "")
		get(b, h.base+path, tok.AccessToken)
	}
	run := func(u, bearer string) func(b *testing.B) {
		return func(b *testing.B) {
			get(b, u, bearer)
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get(b, u, bearer)
				}
			})
		}
	}
	b.Run("bare-proxy", run(proxy.URL+path, ""))
	b.Run("gateway", run(h.base+path, tok.AccessToken))
}
