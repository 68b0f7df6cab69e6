package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway"
)

// TestDynamicRegistrationEndToEnd: an app registered (RFC 7591) at the
// registration_endpoint named in the SMART configuration is pending and
// cannot authorize a member; once approved through the admin API, the
// same registration completes a launch with golang.org/x/oauth2 and reads
// the member's data. The OpenID configuration names the same endpoint.
func TestDynamicRegistrationEndToEnd(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			endpoint := h.endpoint("registration_endpoint")
			var oidc map[string]any
			h.getJSON(h.base+"/.well-known/openid-configuration", &oidc)
			if oidc["registration_endpoint"] != endpoint {
				t.Fatalf("openid-configuration registration_endpoint = %v, want %s", oidc["registration_endpoint"], endpoint)
			}
			body := `{"client_name":"Self-Registered Tracker","redirect_uris":["` + appRedirect + `"],"token_endpoint_auth_method":"none",
				"scope":"launch/patient openid fhirUser offline_access patient/*.rs","contacts":["security@tracker.example"],
				"developer_name":"Tracker Inc.","policy_uri":"https://tracker.example/privacy"}`
			resp, err := http.Post(endpoint, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var reg struct {
				ClientID string `json:"client_id"`
				Status   string `json:"status"`
				Token    string `json:"registration_access_token"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&reg)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated || reg.Status != "pending" || reg.ClientID == "" || reg.Token == "" {
				t.Fatalf("register: %d %+v", resp.StatusCode, reg)
			}
			conf := &oauth2.Config{ClientID: reg.ClientID, RedirectURL: appRedirect,
				Scopes: []string{"launch/patient", "openid", "fhirUser", "patient/*.rs"},
				Endpoint: oauth2.Endpoint{AuthURL: h.endpoint("authorization_endpoint"), TokenURL: h.endpoint("token_endpoint"),
					AuthStyle: oauth2.AuthStyleInParams}}

			// Pending: the authorize endpoint shows an error page and never
			// redirects to the app.
			b := h.browser()
			p := b.get(h.newLaunch(conf).url)
			if p.status != http.StatusForbidden || p.header.Get("Location") != "" || !strings.Contains(p.body, "This app cannot connect yet") {
				t.Fatalf("a pending registration authorized: %d Location=%q", p.status, p.header.Get("Location"))
			}

			// Its checks passed at registration: the admin approves without
			// an override.
			if code := h.admin("POST", "/admin/apps/"+reg.ClientID+"/approve", map[string]string{"note": "reviewed"}, nil); code != 200 {
				t.Fatalf("approve: %d", code)
			}
			l := h.newLaunch(conf)
			tok, err := conf.Exchange(context.Background(), h.authorize(b, l, "alice"), oauth2.VerifierOption(l.verifier))
			if err != nil {
				t.Fatalf("exchange after approval: %v", err)
			}
			if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != http.StatusOK {
				t.Fatalf("FHIR read with the approved registration's token: %d", code)
			}
			// Admins see one member with a live grant and the call just made.
			var detail struct {
				Usage struct {
					LiveMembers int       `json:"live_members"`
					LastCall    time.Time `json:"last_call"`
				} `json:"usage"`
				History []struct {
					Action string `json:"action"`
				} `json:"history"`
			}
			if code := h.admin("GET", "/admin/apps/"+reg.ClientID, nil, &detail); code != 200 || detail.Usage.LiveMembers != 1 ||
				time.Since(detail.Usage.LastCall) > time.Minute || len(detail.History) != 2 {
				t.Fatalf("admin detail: %d %+v", code, detail)
			}
		})
	}
}

// TestDynamicRegistrationOff: with GATEWAY_DYNAMIC_REGISTRATION=false
// neither discovery document names a registration endpoint and nothing
// answers there.
func TestDynamicRegistrationOff(t *testing.T) {
	h := newHarnessWith(t, memoryStore, func(c *gateway.Config) { c.Vetting.DisableRegistration = true })
	if _, ok := h.disco["registration_endpoint"]; ok {
		t.Fatal("smart-configuration names a registration endpoint that is off")
	}
	var oidc map[string]any
	h.getJSON(h.base+"/.well-known/openid-configuration", &oidc)
	if _, ok := oidc["registration_endpoint"]; ok {
		t.Fatal("openid-configuration names a registration endpoint that is off")
	}
	resp, err := http.Post(h.base+"/oauth/register", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("POST /oauth/register with registration off: %d", resp.StatusCode)
	}
}

// TestDynamicRegistrationAutoApprove: with GATEWAY_AUTO_APPROVE, a
// registration whose automated criteria all pass is approved at once by
// the policy actor and can authorize; one that fails a criterion (no
// contact email) stays pending for an admin.
func TestDynamicRegistrationAutoApprove(t *testing.T) {
	h := newHarnessWith(t, memoryStore, func(c *gateway.Config) { c.Vetting.AutoApprove = true })
	register := func(contacts string) (id, status string) {
		body := `{"client_name":"Auto Tracker","redirect_uris":["` + appRedirect + `"],"token_endpoint_auth_method":"none",
			"scope":"launch/patient openid patient/*.rs","developer_name":"Auto Inc."` + contacts + `}`
		resp, err := http.Post(h.endpoint("registration_endpoint"), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var reg struct {
			ClientID string `json:"client_id"`
			Status   string `json:"status"`
		}
		if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&reg) != nil {
			t.Fatalf("register: %d", resp.StatusCode)
		}
		return reg.ClientID, reg.Status
	}
	id, status := register(`,"contacts":["security@auto.example"]`)
	if status != "approved" {
		t.Fatalf("a registration passing every criterion is %s, want approved by the policy", status)
	}
	var history struct {
		History []struct {
			Action string `json:"action"`
			Actor  struct {
				Kind string `json:"kind"`
			} `json:"actor"`
			ChecksPassed bool `json:"checks_passed"`
		} `json:"history"`
	}
	h.admin("GET", "/admin/apps/"+id+"/history", nil, &history)
	if len(history.History) != 2 || history.History[1].Action != "approve" || history.History[1].Actor.Kind != "policy" || !history.History[1].ChecksPassed {
		t.Fatalf("history %+v", history)
	}
	conf := &oauth2.Config{ClientID: id, RedirectURL: appRedirect, Scopes: []string{"launch/patient", "patient/*.rs"},
		Endpoint: oauth2.Endpoint{AuthURL: h.endpoint("authorization_endpoint"), TokenURL: h.endpoint("token_endpoint"), AuthStyle: oauth2.AuthStyleInParams}}
	l := h.newLaunch(conf)
	if _, err := conf.Exchange(context.Background(), h.authorize(h.browser(), l, "alice"), oauth2.VerifierOption(l.verifier)); err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if _, status := register(""); status != "pending" {
		t.Fatalf("a registration failing a criterion is %s, want pending", status)
	}
}
