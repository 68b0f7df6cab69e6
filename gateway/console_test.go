package gateway_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/console"
	"github.com/patientaccess/gateway/gateway/internal/nodetest"
	"github.com/patientaccess/gateway/oauth"
)

// consoleSignIn signs a demo console account in with a fresh browser and
// returns it with the queue page it lands on.
func (h *harness) consoleSignIn(username string) (*browser, page) {
	h.t.Helper()
	b := h.browser()
	p := b.get(h.base + console.PathSignIn)
	p = b.post(h.base+console.PathSignIn, url.Values{"csrf_token": {p.field(h.t, csrfRE)}, "return_to": {"/console/"},
		"username": {username}, "password": {demoPassword}})
	if p.status != 200 || p.url.Path != console.PathHome || !strings.Contains(p.body, "Review queue") {
		h.t.Fatalf("console sign-in as %s: %d %s:\n%s", username, p.status, p.url, p.body)
	}
	return b, p
}

// appStatus reads an app's status through the admin API.
func (h *harness) appStatus(clientID string) string {
	h.t.Helper()
	var v struct {
		Status string `json:"status"`
	}
	if code := h.admin("GET", "/admin/apps/"+clientID, nil, &v); code != 200 {
		h.t.Fatalf("get app %s: %d", clientID, code)
	}
	return v.Status
}

// history reads an app's history through the registry.
func (h *harness) history(clientID string) []apps.HistoryEntry {
	h.t.Helper()
	list, err := h.gw.Registry.History(h.t.Context(), clientID)
	if err != nil {
		h.t.Fatalf("history of %s: %v", clientID, err)
	}
	return list
}

// TestConsoleRoles: without a session every console page sends the browser
// to the sign-in page (and a post is refused, changing nothing); a
// reviewer reads apps and runs the checks but cannot decide; a decision
// form without its anti-forgery token is refused; an admin's decision is
// recorded with the admin as actor; the pages cannot be framed. On both
// stores, since sessions live there.
func TestConsoleRoles(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			conf := h.registerApp(false, "approved")
			id := conf.ClientID
			detail := h.base + "/console/apps/" + id

			anon := h.browser()
			anon.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			for _, path := range []string{"/console/", "/console/apps", "/console/apps/" + id, "/console/report", "/console/apps.csv"} {
				p := anon.get(h.base + path)
				if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), console.PathSignIn+"?return_to=") {
					t.Fatalf("GET %s without a session: %d to %q, want 303 to the sign-in page", path, p.status, p.header.Get("Location"))
				}
			}
			if p := anon.post(detail+"/decide", url.Values{"action": {"suspend"}}); p.status != http.StatusUnauthorized {
				t.Fatalf("decide without a session: %d", p.status)
			}
			signin := h.browser().get(h.base + "/console/apps/" + id)
			if signin.url.Path != console.PathSignIn || signin.header.Get("X-Frame-Options") != "DENY" ||
				!strings.Contains(signin.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Fatalf("sign-in page: %s, framing headers %v", signin.url, signin.header)
			}
			bad := h.browser()
			p := bad.get(h.base + console.PathSignIn)
			p = bad.post(h.base+console.PathSignIn, url.Values{"csrf_token": {p.field(t, csrfRE)}, "username": {"admin"}, "password": {"wrong password"}})
			if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "not right") {
				t.Fatalf("wrong password: %d", p.status)
			}

			rev, _ := h.consoleSignIn(gateway.DemoConsoleReviewer)
			p = rev.get(detail)
			if p.status != 200 || !strings.Contains(p.body, "only admins decide") || strings.Contains(p.body, `action="/console/apps/`+id+`/decide"`) {
				t.Fatalf("reviewer's app page: %d, offers a decision form:\n%s", p.status, p.body)
			}
			p = rev.post(detail+"/checks", url.Values{"csrf_token": {p.field(t, csrfRE)}})
			if p.status != 200 || !strings.Contains(p.body, "The checks ran again") {
				t.Fatalf("reviewer runs the checks: %d %s", p.status, p.url)
			}
			p = rev.post(detail+"/decide", url.Values{"csrf_token": {p.field(t, csrfRE)}, "action": {"suspend"},
				"criteria": {apps.CritCompromise}, "evidence": {"a reviewer tries"}})
			if p.status != http.StatusForbidden || h.appStatus(id) != "approved" {
				t.Fatalf("reviewer decides: %d, app %s; want 403 and nothing changed", p.status, h.appStatus(id))
			}

			adm, _ := h.consoleSignIn(gateway.DemoConsoleAdmin)
			p = adm.get(detail)
			form := url.Values{"action": {"suspend"}, "criteria": {apps.CritCompromise}, "evidence": {"client secret posted publicly"}}
			if q := adm.post(detail+"/decide", form); q.status != http.StatusForbidden || h.appStatus(id) != "approved" {
				t.Fatalf("decide without the anti-forgery token: %d, app %s; want 403 and nothing changed", q.status, h.appStatus(id))
			}
			form.Set("csrf_token", p.field(t, csrfRE))
			if q := adm.post(detail+"/decide", url.Values{"csrf_token": {form.Get("csrf_token")}, "action": {"suspend"},
				"evidence": {"no criterion"}}); q.status != http.StatusBadRequest || !strings.Contains(q.body, "criterion") || h.appStatus(id) != "approved" {
				t.Fatalf("suspend citing no criterion: %d, app %s", q.status, h.appStatus(id))
			}
			q := adm.post(detail+"/decide", form)
			if q.status != 200 || !strings.Contains(q.body, "Suspended.") || h.appStatus(id) != "suspended" {
				t.Fatalf("admin suspends: %d, app %s:\n%s", q.status, h.appStatus(id), q.body)
			}
			hist := h.history(id)
			last := hist[len(hist)-1]
			if last.Action != apps.ActionSuspend || last.Actor.String() != "admin:local:admin" ||
				len(last.Criteria) != 1 || last.Criteria[0] != apps.CritCompromise || last.Evidence != "client secret posted publicly" {
				t.Fatalf("history of the suspension: %+v", last)
			}
			signins := h.events("admin.signin")
			var actors []string
			for _, e := range signins {
				actors = append(actors, e.Outcome+" "+e.Actor)
			}
			if !strings.Contains(strings.Join(actors, ","), "success admin:local:admin") || !strings.Contains(strings.Join(actors, ","), "success admin:local:reviewer") {
				t.Fatalf("admin sign-in events: %v", actors)
			}

			// Signing out ends the session on the server.
			p = adm.get(h.base + "/console/")
			adm.post(h.base+console.PathSignOut, url.Values{"csrf_token": {p.field(t, csrfRE)}})
			if p := adm.get(h.base + "/console/"); p.url.Path != console.PathSignIn {
				t.Fatalf("after signing out: %s", p.url)
			}
		})
	}
}

// TestConsoleSessionsAreNotMembers: a member's session cookie value is no
// console session, and a console session no member's.
func TestConsoleSessionsAreNotMembers(t *testing.T) {
	h := newHarness(t, stores(t)["memory"])
	adm, _ := h.consoleSignIn(gateway.DemoConsoleAdmin)
	base, _ := url.Parse(h.base)
	var value string
	for _, c := range adm.client.Jar.Cookies(base) {
		if c.Name == "pag_console" {
			value = c.Value
		}
	}
	if value == "" {
		t.Fatal("no console cookie")
	}
	b := h.browser()
	b.client.Jar.SetCookies(base, []*http.Cookie{{Name: "pag_session", Value: value, Path: "/"}})
	if h.signedIn(b) {
		t.Fatal("a console cookie value opened a member session")
	}
}

var consolePlanLinkRE = regexp.MustCompile(`id="console-plan-sign-in" href="([^"]+)"`)

// TestConsoleSignInWithPlan: staff sign in through the plan's provider
// (panva's oidc-provider) with the relying party members use; the role
// comes from the groups claim; someone with neither role is refused; the
// history and the audit name the provider's subject, never a name.
func TestConsoleSignInWithPlan(t *testing.T) {
	admin := nodetest.OIDCAccount{Sub: "staff-4471", Password: "admin-at-the-plan",
		Claims: map[string]any{"groups": []string{"staff", "gateway-admin"}, "name": "Avery Admin"}}
	reviewer := nodetest.OIDCAccount{Sub: "staff-5582", Password: "reviewer-at-the-plan",
		Claims: map[string]any{"groups": "gateway-reviewer", "name": "Robin Reviewer"}}
	nobody := nodetest.OIDCAccount{Sub: "staff-6693", Password: "nobody-at-the-plan",
		Claims: map[string]any{"groups": []string{"staff"}, "name": "Nia Nobody"}}
	var op *nodetest.OIDCProvider
	h := newHarnessSetup(t, stores(t)["memory"], func(cfg *gateway.Config, _ *gateway.Options) {
		op = nodetest.StartOIDCProvider(t, nodetest.OIDCClient{ID: planClientID, Secret: planClientSecret,
			RedirectURIs: []string{cfg.BaseURL + oauth.PathPlanCallback, cfg.BaseURL + console.PathCallback}}, admin, reviewer, nobody)
		cfg.OIDC = planOIDC(op.Issuer, linkByIdentifier)
		cfg.OIDC.AdminRoleClaim = "groups"
		cfg.Plan.Name, cfg.Plan.MemberServices = planName, planHelp
	})
	conf := h.registerApp(true, "pending")
	signIn := func(acct nodetest.OIDCAccount) (*browser, page) {
		t.Helper()
		b := h.browser()
		b.client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if !strings.HasPrefix(req.URL.String(), h.base) && !strings.HasPrefix(req.URL.String(), op.Issuer) {
				return http.ErrUseLastResponse
			}
			return nil
		}
		p := b.get(h.base + "/console/apps/" + conf.ClientID)
		if !strings.Contains(p.body, "Sign in with "+planName) {
			t.Fatalf("console sign-in page offers no plan sign-in:\n%s", p.body)
		}
		at := b.get(h.base + p.field(t, consolePlanLinkRE))
		return b, fromNode(op.SignIn(t, b.client, toNode(at), acct.Sub, acct.Password))
	}

	b, p := signIn(admin)
	if p.status != 200 || p.url.Path != "/console/apps/"+conf.ClientID || !strings.Contains(p.body, `action="/console/apps/`+conf.ClientID+`/decide"`) {
		t.Fatalf("admin through the provider: %d %s:\n%s", p.status, p.url, p.body)
	}
	p = b.post(h.base+"/console/apps/"+conf.ClientID+"/decide", url.Values{"csrf_token": {p.field(t, csrfRE)}, "action": {"deny"},
		"criteria": {apps.CritImpersonation}, "evidence": {"passes itself off as the plan"}})
	if p.status != 200 || h.appStatus(conf.ClientID) != "denied" {
		t.Fatalf("admin denies: %d, app %s", p.status, h.appStatus(conf.ClientID))
	}
	hist := h.history(conf.ClientID)
	actor := hist[len(hist)-1].Actor
	wantID := oauth.MemberKey(op.Issuer, admin.Sub)
	if actor.Kind != apps.ActorAdmin || actor.ID != wantID {
		t.Fatalf("the denial's actor is %+v, want admin %s", actor, wantID)
	}

	_, p = signIn(reviewer)
	if p.status != 200 || !strings.Contains(p.body, "reviewer") || strings.Contains(p.body, `/decide"`) {
		t.Fatalf("reviewer through the provider: %d %s", p.status, p.url)
	}
	_, p = signIn(nobody)
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "neither the admin nor the reviewer role") {
		t.Fatalf("someone with no console role: %d %s", p.status, p.url)
	}
	trail := h.auditText()
	for _, name := range []string{"Avery", "Robin", "Nia"} {
		if strings.Contains(trail, name) {
			t.Fatalf("the audit trail names %s", name)
		}
	}
	if !strings.Contains(trail, "admin:"+oauth.MemberKey(op.Issuer, nobody.Sub)) {
		t.Fatal("the refused sign-in is not audited with the provider subject")
	}
}
