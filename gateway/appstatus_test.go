package gateway_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestRefusedAppReasonNotShown: the reason an admin typed when suspending
// or denying an app is not shown on the public error page (anyone who
// knows a client_id can open it); the member reads a neutral sentence, and
// admins still read the reason through the admin API.
func TestRefusedAppReasonNotShown(t *testing.T) {
	h := newHarness(t, memoryStore)
	const reason = "ticket SEC-4711: secret found in a public repository"
	for _, verb := range []string{"suspend", "deny"} {
		t.Run(verb, func(t *testing.T) {
			from := map[string]string{"suspend": "approved", "deny": "pending"}[verb]
			conf := h.registerApp(true, from)
			if code := h.admin("POST", "/admin/apps/"+conf.ClientID+"/"+verb, testRefusal(reason), nil); code != 200 {
				t.Fatalf("%s: %d", verb, code)
			}
			p := h.browser().get(h.newLaunch(conf).url)
			if p.status != http.StatusForbidden || p.header.Get("Location") != "" {
				t.Fatalf("want a 403 error page, got %d Location=%q", p.status, p.header.Get("Location"))
			}
			if strings.Contains(p.body, "SEC-4711") || strings.Contains(p.body, "public repository") {
				t.Fatalf("the error page shows the admin's reason:\n%s", p.body)
			}
			if !strings.Contains(p.body, "Test Tracker cannot connect to Riverbend Community Health Plan right now") {
				t.Fatalf("the error page lacks the neutral sentence:\n%s", p.body)
			}
			var view struct {
				StatusReason string `json:"status_reason"`
			}
			if code := h.admin("GET", "/admin/apps/"+conf.ClientID, nil, &view); code != 200 || view.StatusReason != reason {
				t.Fatalf("admin API: %d status_reason=%q, want %q", code, view.StatusReason, reason)
			}
		})
	}
}
