package gateway_test

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// TestSuspendRacingApprovals: an admin's suspension racing other admins'
// approvals through the admin API is never lost: whatever the order, a
// token issued before the suspension never works again, not even after
// the app is approved once more. On every store.
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
					verb := "approve"
					if i == 2 {
						verb = "suspend"
					}
					wg.Go(func() {
						if code := h.admin("POST", "/admin/apps/"+conf.ClientID+"/"+verb, map[string]string{"reason": "key leaked"}, nil); code != 200 {
							t.Errorf("trial %d: %s: %d", trial, verb, code)
						}
					})
				}
				wg.Wait()
				if code := h.admin("POST", "/admin/apps/"+conf.ClientID+"/approve", testApproval, nil); code != 200 {
					t.Fatalf("trial %d: approve again: %d", trial, code)
				}
				if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 401 {
					t.Fatalf("trial %d: a token issued before the suspension answered %d after it, want 401", trial, code)
				}
			}
		})
	}
}
