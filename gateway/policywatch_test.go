package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patientaccess/gateway/gateway"
)

// TestPolicyWatchWired: the gateway's policy watch runs on the configured
// interval against the registry and the store, claims each round for one
// replica only, and a change it finds reaches the consent page.
func TestPolicyWatchWired(t *testing.T) {
	var version atomic.Int32
	policy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("policy version " + string(rune('0'+version.Load()))))
	}))
	defer policy.Close()
	h := newHarnessWith(t, memoryStore, func(c *gateway.Config) { c.Vetting.PolicyWatch = time.Hour })
	w := h.gw.PolicyWatch
	if w.Interval != time.Hour || !w.AllowLoopback { // demo mode allows loopback
		t.Fatalf("watcher interval %v, loopback %v", w.Interval, w.AllowLoopback)
	}
	ctx := context.Background()
	if !w.Claim(ctx) || w.Claim(ctx) {
		t.Fatal("a round could be claimed twice within the interval (or not at all)")
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	h.admin("POST", "/admin/apps", map[string]any{"name": "Watched App", "redirect_uris": []string{appRedirect}, "public": true,
		"privacy_policy_url": policy.URL + "/privacy", "attestation": "attested"}, &reg)
	if n, err := w.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("baseline round: %d, %v", n, err)
	}
	version.Store(1)
	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("round after the change: %d, %v", n, err)
	}
	var detail struct {
		AttestationStale bool       `json:"attestation_stale"`
		PolicyChangedAt  *time.Time `json:"policy_changed_at"`
		PolicyWatch      struct {
			Pages []struct {
				Hash string `json:"hash"`
			} `json:"pages"`
		} `json:"policy_watch"`
	}
	if code := h.admin("GET", "/admin/apps/"+reg.ClientID, nil, &detail); code != 200 || !detail.AttestationStale ||
		detail.PolicyChangedAt == nil || len(detail.PolicyWatch.Pages) != 1 || len(detail.PolicyWatch.Pages[0].Hash) != 64 {
		t.Fatalf("admin detail after a change: %d %+v", code, detail)
	}
}
