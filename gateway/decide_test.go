package gateway_test

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// TestSuspendRacingApprovals: an admin's suspension racing other admins'
// reinstatements through the admin API is never lost: whatever the order,
// a token issued before the suspension never works again, not even after
// the app is reinstated. On every store.
func TestSuspendRacingApprovals(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			conf := h.registerApp(true, "approved")
			b := h.browser()
			for trial := range 5 {
				l := h.newLaunch(conf)
				tok, err := conf.Exchange(context.Background(), h.authorize(b, l, "alice"), oauth2.VerifierOption(l.verifier))
				if err != nil {
					t.Fatalf("trial %d: exchange: %v", trial, err)
				}
				var wg sync.WaitGroup
				for i := range 6 {
					verb, body := "reinstate", any(testApproval)
					if i == 2 {
						verb, body = "suspend", testRefusal("key leaked")
					}
					wg.Go(func() {
						// A reinstatement that lands before the suspension finds
						// the app approved and is refused (409).
						if code := h.admin("POST", "/admin/apps/"+conf.ClientID+"/"+verb, body, nil); code != 200 && (verb == "suspend" || code != 409) {
							t.Errorf("trial %d: %s: %d", trial, verb, code)
						}
					})
				}
				wg.Wait()
				var view struct {
					Status string `json:"status"`
				}
				h.admin("GET", "/admin/apps/"+conf.ClientID, nil, &view)
				if view.Status == "suspended" {
					if code := h.admin("POST", "/admin/apps/"+conf.ClientID+"/reinstate", testApproval, nil); code != 200 {
						t.Fatalf("trial %d: reinstate: %d", trial, code)
					}
				}
				if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 401 {
					t.Fatalf("trial %d: a token issued before the suspension answered %d after it, want 401", trial, code)
				}
			}
		})
	}
}
