package gateway_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/oauth"
)

// BenchmarkIntrospection measures an app's introspection of its own live
// access token through the real endpoint over HTTP (a keep-alive
// connection on loopback), as the load harness's introspection scenario
// drives it, on both stores. The introspection throttle is raised out of
// the way, as the harness raises it.
func BenchmarkIntrospection(b *testing.B) {
	for name, open := range stores(b) {
		b.Run(name, func(b *testing.B) {
			h := newHarnessWith(b, open, func(cfg *gateway.Config) { cfg.IntrospectLimit = oauth.Limit{Burst: 1 << 30, Every: time.Nanosecond} })
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			body := url.Values{"token": {tok.AccessToken}}.Encode()
			pre, _ := http.NewRequest("POST", h.endpoint("introspection_endpoint"), nil)
			pre.SetBasicAuth(url.QueryEscape(conf.ClientID), url.QueryEscape(conf.ClientSecret))
			auth := pre.Header.Get("Authorization")
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest("POST", h.endpoint("introspection_endpoint"), strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", auth)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				// Read to the end, so that the connection is used again.
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("introspection: %d", resp.StatusCode)
				}
			}
		})
	}
}
