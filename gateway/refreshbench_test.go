package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkRefreshGrant measures one refresh grant through the real token
// endpoint over HTTP (a keep-alive connection on loopback): client
// authentication, the refresh token's check and rotation, new tokens and
// the id_token, as the load harness's refresh chains drive it. Each
// answer's refresh token is the next request's, so every iteration
// rotates. Run with -benchmem and -cpuprofile to see where a grant goes.
//
// "id_token" refreshes the whole grant (openid included, so the answer
// carries an RS256 id_token, as the harness's chains get); "no_id_token"
// narrows each refresh to patient/Patient.read offline_access, which
// issues no id_token, so the difference is what signing it costs.
func BenchmarkRefreshGrant(b *testing.B) {
	for name, open := range stores(b) {
		b.Run(name, func(b *testing.B) {
			h := newHarness(b, open)
			conf := h.registerApp(false, "approved")
			pre, _ := http.NewRequest("POST", conf.Endpoint.TokenURL, nil)
			pre.SetBasicAuth(url.QueryEscape(conf.ClientID), url.QueryEscape(conf.ClientSecret))
			auth := pre.Header.Get("Authorization")
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for _, v := range []struct{ name, scope string }{
				{"id_token", ""},
				{"no_id_token", "patient/Patient.read offline_access"},
			} {
				b.Run(v.name, func(b *testing.B) {
					rt := h.launchAs(conf, "alice").RefreshToken
					form := url.Values{"grant_type": {"refresh_token"}}
					if v.scope != "" {
						form.Set("scope", v.scope)
					}
					b.ReportAllocs()
					var before, after runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&before)
					for b.Loop() {
						form.Set("refresh_token", rt)
						req, _ := http.NewRequest("POST", conf.Endpoint.TokenURL, strings.NewReader(form.Encode()))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						req.Header.Set("Authorization", auth)
						resp, err := client.Do(req)
						if err != nil {
							b.Fatalf("refresh: %v", err)
						}
						var out tokenResponse
						err = json.NewDecoder(resp.Body).Decode(&out)
						resp.Body.Close()
						if err != nil || resp.StatusCode != 200 || out.RefreshToken == "" || (out.IDToken == "") != (v.scope != "") {
							b.Fatalf("refresh: %d %v %q, id_token %t", resp.StatusCode, err, out.Error, out.IDToken != "")
						}
						rt = out.RefreshToken
					}
					runtime.GC()
					runtime.ReadMemStats(&after)
					// What stays on the heap per refresh: the rotated refresh
					// token's tombstone, kept a day (oauth.InactiveTail) to
					// detect its reuse, and the refresh's audit event; on
					// Redis both are in Redis.
					b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "heap-kept-B/op")
				})
			}
		})
	}
}
