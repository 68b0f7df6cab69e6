package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/gateway"
)

// BenchmarkUpstreamRead compares a token-bearing read of the member's
// Patient through the gateway in front of Medplum with the same read
// through a bare httputil.ReverseProxy to the same Medplum (which adds the
// upstream token and nothing else). Both are real HTTP servers driven by
// 4 concurrent clients. The two run in alternating rounds, so load from
// anything else on the machine falls on both alike; the result is reported
// as throughput of each (req/s) and their ratio (gateway/proxy; the target
// is ≥ 0.9).
//
//	go test -run '^$' -bench BenchmarkUpstreamRead -benchtime 10x ./gateway
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
	get := func(u, bearer string) {
		r, _ := http.NewRequest("GET", u, nil)
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(r)
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Errorf("GET %s: %d", u, resp.StatusCode)
		}
	}
	// round sends n requests from 4 clients and returns how long they took.
	round := func(n int, u, bearer string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for c := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; i < n; i += 4 {
					get(u, bearer)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	round(600, proxy.URL+path, "") // warm Node's JIT and both connection pools
	round(600, h.base+path, tok.AccessToken)
	const perRound = 400
	var proxyTime, gatewayTime time.Duration
	rounds := 0
	for b.Loop() {
		proxyTime += round(perRound, proxy.URL+path, "")
		gatewayTime += round(perRound, h.base+path, tok.AccessToken)
		rounds++
	}
	n := float64(rounds * perRound)
	b.ReportMetric(n/proxyTime.Seconds(), "proxy-req/s")
	b.ReportMetric(n/gatewayTime.Seconds(), "gateway-req/s")
	b.ReportMetric(proxyTime.Seconds()/gatewayTime.Seconds(), "gateway/proxy")
}
