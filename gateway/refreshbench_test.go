package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkRefreshGrant measures one refresh grant through the real token
// endpoint over HTTP (a keep-alive connection on loopback): client
// authentication, the refresh token's check and rotation, new tokens and
// the id_token, as the load harness's refresh chains drive it. Each
// answer's refresh token is the next request's, so every iteration
// rotates. Run with -benchmem and -cpuprofile to see where a grant goes.
func BenchmarkRefreshGrant(b *testing.B) {
	for name, open := range stores(b) {
		b.Run(name, func(b *testing.B) {
			h := newHarness(b, open)
			conf := h.registerApp(false, "approved")
			rt := h.launchAs(conf, "alice").RefreshToken
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			pre, _ := http.NewRequest("POST", conf.Endpoint.TokenURL, nil)
			pre.SetBasicAuth(url.QueryEscape(conf.ClientID), url.QueryEscape(conf.ClientSecret))
			auth := pre.Header.Get("Authorization")
			b.ReportAllocs()
			for b.Loop() {
				body := "grant_type=refresh_token&refresh_token=" + url.QueryEscape(rt)
				req, _ := http.NewRequest("POST", conf.Endpoint.TokenURL, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", auth)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatalf("refresh: %v", err)
				}
				var out tokenResponse
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || out.RefreshToken == "" {
					b.Fatalf("refresh: %d %v %q", resp.StatusCode, err, out.Error)
				}
				rt = out.RefreshToken
			}
		})
	}
}
