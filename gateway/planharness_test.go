package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/internal/nodetest"
	"github.com/patientaccess/gateway/oauth"
)

// The plan's OpenID provider as the sign-in tests set it up.
const (
	planClientID     = "patient-access-gateway"
	planClientSecret = "plan-client-secret-0123456789abcdef"
	planName         = "Demo Health Plan"
	planHelp         = "Member Services at 1-800-555-0100"
	linkByIdentifier = "identifier:" + fhir.DemoMemberIDSystem
	linkByPatientID  = "patient-id"
)

// Accounts at the plan's provider. Their subjects say nothing about them;
// member_id is the member id on the demo Patients, patient_id the Patient
// id. nobody's claims match no Patient.
var (
	planAlice = nodetest.OIDCAccount{Sub: "248289761001", Password: "alice-at-the-plan",
		Claims: map[string]any{"member_id": "DEMO-M-1001", "patient_id": "alice-1001", "name": "Alice Synthetic"}}
	planBob = nodetest.OIDCAccount{Sub: "90342.ASDFJWFA", Password: "bob-at-the-plan",
		Claims: map[string]any{"member_id": "DEMO-M-2002", "patient_id": "bob-2002", "name": "Bob Synthetic"}}
	planNobody = nodetest.OIDCAccount{Sub: "nobody-77", Password: "nobody-at-the-plan",
		Claims: map[string]any{"member_id": "DEMO-M-9999", "patient_id": "carol-3003", "name": "Carol Nomatch"}}
	planAccounts = []nodetest.OIDCAccount{planAlice, planBob, planNobody}
)

// startPlanProvider starts the plan's OpenID provider (panva's
// oidc-provider) with accounts and one client, the gateway at base.
func startPlanProvider(t testing.TB, base string, accounts ...nodetest.OIDCAccount) *nodetest.OIDCProvider {
	t.Helper()
	return nodetest.StartOIDCProvider(t, nodetest.OIDCClient{ID: planClientID, Secret: planClientSecret,
		RedirectURIs: []string{base + oauth.PathPlanCallback}}, accounts...)
}

// planOIDC is the gateway's sign-in configuration for the provider at
// issuer with GATEWAY_MEMBER_LINK link: the member claim is member_id for
// identifier links and patient_id for patient-id links.
func planOIDC(issuer, link string) gateway.OIDCConfig {
	claim := "member_id"
	if link == linkByPatientID {
		claim = "patient_id"
	}
	return gateway.OIDCConfig{Issuer: issuer, ClientID: planClientID, ClientSecret: planClientSecret,
		Scopes: []string{"openid"}, MemberClaim: claim, MemberLink: link}
}

// planHarness is a gateway (demo data) whose members sign in through the
// plan's provider.
type planHarness struct {
	*harness
	op *nodetest.OIDCProvider
}

// newPlanHarness starts a provider with accounts (planAccounts if none)
// and a gateway on the store open makes, linking members by link; setup,
// if given, changes the configuration further.
func newPlanHarness(t testing.TB, open func(testing.TB) gateway.Store, link string,
	setup func(*gateway.Config, *gateway.Options), accounts ...nodetest.OIDCAccount) *planHarness {
	t.Helper()
	if len(accounts) == 0 {
		accounts = planAccounts
	}
	var op *nodetest.OIDCProvider
	h := newHarnessSetup(t, open, func(cfg *gateway.Config, opts *gateway.Options) {
		op = startPlanProvider(t, cfg.BaseURL, accounts...)
		cfg.OIDC = planOIDC(op.Issuer, link)
		cfg.Plan.Name, cfg.Plan.MemberServices = planName, planHelp
		if setup != nil {
			setup(cfg, opts)
		}
	})
	return &planHarness{harness: h, op: op}
}

// planBrowser is a member's browser that follows redirects on the gateway
// and the provider, and stops at the app, or where stop says.
func (h *planHarness) planBrowser(stop func(*http.Request) bool) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: h.t, client: &http.Client{Jar: jar}, base: h.base}
	h.stopAt(b, stop)
	return b
}

// stopAt changes where the browser b stops following redirects: at the
// app, and where stop (if not nil) says.
func (h *planHarness) stopAt(b *browser, stop func(*http.Request) bool) {
	b.client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		u := req.URL.String()
		if (stop != nil && stop(req)) || !strings.HasPrefix(u, h.base) && !strings.HasPrefix(u, h.op.Issuer) {
			return http.ErrUseLastResponse
		}
		return nil
	}
}

var planLinkRE = regexp.MustCompile(`id="plan-sign-in" href="([^"]+)"`)

// toProvider follows the "Sign in with {plan}" link of the gateway's login
// page p to wherever it leads (the provider's sign-in page, normally).
func (h *planHarness) toProvider(b *browser, p page) page {
	h.t.Helper()
	if !strings.Contains(p.body, "Sign in with "+planName) {
		h.t.Fatalf("login page %s does not offer Sign in with %s:\n%s", p.url, planName, p.body)
	}
	return b.get(h.base + p.field(h.t, planLinkRE))
}

// signInWithPlan signs acct in from the gateway's login page p, through
// the provider's login and consent pages, and returns the page the browser
// ends on.
func (h *planHarness) signInWithPlan(b *browser, p page, acct nodetest.OIDCAccount) page {
	h.t.Helper()
	at := h.toProvider(b, p)
	return fromNode(h.op.SignIn(h.t, b.client, toNode(at), acct.Sub, acct.Password))
}

// launchWithPlan is a whole standalone launch by a member who signs in
// through the plan: authorize, the login page's plan link, the provider,
// consent, code, token.
func (h *planHarness) launchWithPlan(conf *oauth2.Config, acct nodetest.OIDCAccount) *oauth2.Token {
	h.t.Helper()
	l := h.newLaunch(conf)
	b := h.planBrowser(nil)
	p := b.get(l.url)
	if p.url.Path != oauth.PathLogin {
		h.t.Fatalf("authorize without a session: want the login page, got %d %s", p.status, p.url)
	}
	p = h.signInWithPlan(b, p, acct)
	if p.status != 200 || !strings.Contains(p.body, "HIPAA") {
		h.t.Fatalf("after signing in with the plan: want the consent page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	code := h.codeFrom(b.consent(p, "allow"), l.state)
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		h.t.Fatalf("exchange code: %v", err)
	}
	return tok
}

// events returns the newest audit events of action.
func (h *harness) events(action string) []apps.Event {
	h.t.Helper()
	var out struct {
		Events []apps.Event `json:"events"`
	}
	if code := h.admin("GET", "/admin/audit?limit=1000", nil, &out); code != 200 {
		h.t.Fatalf("audit: status %d", code)
	}
	var list []apps.Event
	for _, e := range out.Events {
		if e.Action == action {
			list = append(list, e)
		}
	}
	return list
}

// auditText is the whole audit trail as JSON, to search for what must
// never be in it.
func (h *harness) auditText() string {
	h.t.Helper()
	var out json.RawMessage
	h.admin("GET", "/admin/audit?limit=1000", nil, &out)
	return string(out)
}

// signedIn reports whether the browser has a gateway session.
func (h *harness) signedIn(b *browser) bool {
	h.t.Helper()
	p := b.get(h.base + oauth.PathAccount)
	return p.status == 200 && p.url.Path == oauth.PathAccount
}

func toNode(p page) nodetest.Page {
	return nodetest.Page{Status: p.status, URL: p.url, Header: p.header, Body: p.body}
}

func fromNode(p nodetest.Page) page {
	return page{status: p.Status, url: p.URL, header: p.Header, body: p.Body}
}
