package gateway_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/apps"
)

// TestCachedTokenRefusedAtOnce: once a token's claims are known (the FHIR
// call then confirms the token with its audit record, in one store step),
// a token revoked, an app suspended or a grant ended between two calls is
// refused on the very next call (401, nothing of the data), and neither
// the plan's audit trail nor the member's access history shows a success
// for that call, only the refusal. On both stores.
func TestCachedTokenRefusedAtOnce(t *testing.T) {
	ends := map[string]func(h *harness, conf *oauth2.Config, tok *oauth2.Token){
		"token revoked": func(h *harness, conf *oauth2.Config, tok *oauth2.Token) { h.revoke(conf, tok.AccessToken) },
		"app suspended": func(h *harness, conf *oauth2.Config, _ *oauth2.Token) {
			if code := h.admin("POST", "/admin/apps/"+conf.ClientID+"/suspend", testRefusal("test"), nil); code != 200 {
				h.t.Fatalf("suspend: %d", code)
			}
		},
		"grant ended": func(h *harness, conf *oauth2.Config, _ *oauth2.Token) {
			// The grant alone, as its end is seen by a replica whose
			// tokens are not removed yet.
			ctx := context.Background()
			grants, err := h.gw.Store.ListGrants(ctx, "alice")
			if err != nil {
				h.t.Fatal(err)
			}
			for _, g := range grants {
				if g.ClientID == conf.ClientID {
					if err := h.gw.Store.RevokeGrant(ctx, g.ID, time.Now()); err != nil {
						h.t.Fatal(err)
					}
				}
			}
		},
	}
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			alice := h.patient["alice"]
			for end, cut := range ends {
				conf := h.registerApp(false, "approved")
				tok := h.launchAs(conf, "alice")
				for range 2 { // the first call learns the claims; the second uses them
					if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+alice); code != 200 {
						t.Fatalf("%s: read before: %d", end, code)
					}
				}
				cut(h, conf, tok)
				for _, path := range []string{"/Patient/" + alice, "/ExplanationOfBenefit?patient=" + alice, "/Patient/" + h.patient["bob"]} {
					code, body := h.fhirGet(tok.AccessToken, path)
					if code != 401 || body["resourceType"] != "OperationOutcome" {
						t.Errorf("%s: GET %s: %d %v, want 401", end, path, code, body["resourceType"])
					}
				}
				plan := appEvents(h.events("fhir.read"), conf.ClientID)
				plan = append(plan, appEvents(h.events("fhir.search"), conf.ClientID)...)
				own, err := h.gw.Store.ListMemberEvents(context.Background(), "alice", conf.ClientID, 100)
				if err != nil {
					t.Fatal(err)
				}
				for trail, events := range map[string][]apps.Event{"the plan's trail": plan, "alice's history": own} {
					if n := count(events, "success"); n != 2 {
						t.Errorf("%s: %s shows %d successful calls, want the 2 before: %+v", end, trail, n, events)
					}
					if n := count(events, "denied"); n == 0 {
						t.Errorf("%s: %s does not show the refusal", end, trail)
					}
				}
			}
		})
	}
}

func appEvents(events []apps.Event, clientID string) []apps.Event {
	var out []apps.Event
	for _, e := range events {
		if e.ClientID == clientID {
			out = append(out, e)
		}
	}
	return out
}

func count(events []apps.Event, outcome string) int {
	n := 0
	for _, e := range events {
		if e.Outcome == outcome && (e.Action == "fhir.read" || e.Action == "fhir.search") {
			n++
		}
	}
	return n
}
