package gateway_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/portal"
)

// TestPortalDocsMatchDiscovery: the public documentation, read without an
// account, names every endpoint and scope the SMART configuration
// advertises and every resource type, search parameter and _include the
// CapabilityStatement lists: it is built from them, so it cannot drift.
func TestPortalDocsMatchDiscovery(t *testing.T) {
	h := newHarness(t, stores(t)["memory"])
	p := h.browser().get(h.base + portal.PathHome)
	if p.status != 200 {
		t.Fatalf("docs: %d", p.status)
	}
	body := html.UnescapeString(p.body)
	for _, f := range []string{"authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri"} {
		if u := h.endpoint(f); !strings.Contains(body, "<code>"+u+"</code>") {
			t.Errorf("docs do not give %s %s", f, u)
		}
	}
	if u, ok := h.disco["registration_endpoint"].(string); ok && !strings.Contains(body, u) {
		t.Errorf("docs do not give the registration endpoint %s", u)
	}
	for _, field := range []string{"scopes_supported", "capabilities", "token_endpoint_auth_methods_supported", "code_challenge_methods_supported"} {
		list, _ := h.disco[field].([]any)
		if len(list) == 0 {
			t.Fatalf("discovery has no %s", field)
		}
		for _, s := range list {
			if !strings.Contains(body, "<code>"+s.(string)+"</code>") {
				t.Errorf("docs do not list %s %s", field, s)
			}
		}
	}
	var cs struct {
		Rest []struct {
			Resource []struct {
				Type        string `json:"type"`
				SearchParam []struct {
					Name string `json:"name"`
				} `json:"searchParam"`
				SearchInclude []string `json:"searchInclude"`
			} `json:"resource"`
		} `json:"rest"`
	}
	h.getJSON(h.fhir+"/metadata", &cs)
	types := 0
	for _, r := range cs.Rest[0].Resource {
		types++
		start := strings.Index(body, "<td><code>"+r.Type+"</code>")
		if start < 0 {
			t.Errorf("docs have no row for %s", r.Type)
			continue
		}
		row := body[start : start+strings.Index(body[start:], "</tr>")]
		for _, sp := range r.SearchParam {
			if sp.Name != "_id" && sp.Name != "_lastUpdated" && !strings.Contains(row, "<code>"+sp.Name+"</code>") {
				t.Errorf("docs row of %s lacks search parameter %s", r.Type, sp.Name)
			}
		}
		for _, inc := range r.SearchInclude {
			if inc != "*" && !strings.Contains(row, "<code>"+inc+"</code>") && !strings.Contains(row, "<code>"+r.Type+":"+inc+"</code>") {
				t.Errorf("docs row of %s lacks _include %s", r.Type, inc)
			}
		}
	}
	if got := strings.Count(body, "<td><code>") - strings.Count(body, "<td><code>"+"alice") - strings.Count(body, "<td><code>bob"); types == 0 || got < types {
		t.Fatalf("docs list %d types, the CapabilityStatement %d", got, types)
	}
	for _, want := range []string{"1 hour", "90 days", "13 months", "alice", "Patient/alice-1001", demoPassword, apps.CritRedirectHTTPS, "OperationOutcome"} {
		if !strings.Contains(body, want) {
			t.Errorf("docs do not say %q", want)
		}
	}
}

var secretRE = regexp.MustCompile(`id="client-secret">([^<]+)<`)

// developer signs a new developer account up and returns its browser.
func (h *harness) developer(email, org string) *browser {
	h.t.Helper()
	b := h.browser()
	p := b.get(h.base + portal.PathSignIn)
	p = b.post(h.base+portal.PathSignUp, url.Values{"csrf_token": {p.field(h.t, csrfRE)}, "email": {email}, "organisation": {org},
		"name": {"Dev"}, "password": {"a long developer password"}})
	if p.status != 200 || p.url.Path != portal.PathApps {
		h.t.Fatalf("sign up %s: %d %s:\n%s", email, p.status, p.url, p.body)
	}
	return b
}

var clientIDRE = regexp.MustCompile(`Your client id is <code>([^<]+)</code>`)

// TestPortalRegistration: a developer signs up and registers an app with
// the form; it lands pending (and cannot authorize anyone), with its
// checks; the developer's list shows it, another developer cannot see it;
// a bad form stores nothing; after a denial the developer reads the
// criteria cited and the note, never the evidence.
func TestPortalRegistration(t *testing.T) {
	h := newHarness(t, stores(t)["memory"])
	dana := h.developer("dana@tracker.example", "Tracker Co")
	p := dana.get(h.base + portal.PathNewApp)
	form := url.Values{"csrf_token": {p.field(t, csrfRE)}, "name": {"Dana's Tracker"}, "developer": {"Tracker Co"},
		"contact_email": {"security@tracker.example"}, "redirect_uris": {"https://tracker.example/cb"}, "client_type": {"confidential-symmetric"},
		"scope": {"launch/patient openid fhirUser patient/*.rs"}, "privacy_policy_url": {"https://tracker.example/privacy"},
		"website_url": {"https://tracker.example/"}, "attested_by": {"Dana"}}
	for _, q := range apps.Questions() {
		form.Set("q_"+q.ID, "yes")
	}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("redirect_uris", "https://tracker.example/*")
	before, _ := h.gw.Registry.List(t.Context())
	if p := dana.post(h.base+portal.PathApps, bad); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Nothing was registered") {
		t.Fatalf("a wildcard redirect URI: %d", p.status)
	}
	if after, _ := h.gw.Registry.List(t.Context()); len(after) != len(before) {
		t.Fatal("a refused registration stored an app")
	}
	p = dana.post(h.base+portal.PathApps, form)
	if p.status != http.StatusCreated || !strings.Contains(p.body, "pending") {
		t.Fatalf("register: %d:\n%s", p.status, p.body)
	}
	id, secret := p.field(t, clientIDRE), p.field(t, secretRE)
	app, err := h.gw.Registry.Get(t.Context(), id)
	if err != nil || app.Status != apps.StatusPending || app.RegisteredBy.Kind != apps.ActorDeveloper || app.Attestation.Status() != apps.AttestationAttested {
		t.Fatalf("registered app: %+v, %v", app, err)
	}
	if secret == "" || strings.Contains(p.body, "secret_hash") {
		t.Fatal("the secret is not shown once")
	}
	if list := dana.get(h.base + portal.PathApps); !strings.Contains(list.body, "Dana&#39;s Tracker") {
		t.Fatalf("the developer's list lacks the app:\n%s", list.body)
	}

	// Pending: it cannot start an authorization.
	l := h.newLaunch(clientConfig(h, id, secret))
	if p := h.browser().get(l.url); p.status < 400 || !strings.Contains(p.body, "Dana") {
		t.Fatalf("a pending app's authorization: %d %s", p.status, p.url)
	}

	eve := h.developer("eve@other.example", "Other Co")
	if p := eve.get(h.base + portal.PathApps + "/" + id); p.status != http.StatusNotFound {
		t.Fatalf("another developer's app: %d", p.status)
	}
	if list := eve.get(h.base + portal.PathApps); strings.Contains(list.body, "Tracker") {
		t.Fatal("another developer's list shows the app")
	}

	_, err = h.gw.Registry.Decide(t.Context(), id, apps.DecisionRequest{Action: apps.ActionDeny, Actor: apps.TokenActor,
		Criteria: []string{apps.CritImpersonation}, Evidence: "internal ticket 4471", Note: "Your logo copies the plan's."})
	if err != nil {
		t.Fatalf("deny: %v", err)
	}
	p = dana.get(h.base + portal.PathApps + "/" + id)
	if !strings.Contains(p.body, apps.CritImpersonation) || !strings.Contains(p.body, "Your logo copies the plan&#39;s.") ||
		strings.Contains(p.body, "4471") {
		t.Fatalf("the developer's view of the denial:\n%s", p.body)
	}
}

func clientConfig(h *harness, id, secret string) *oauth2.Config {
	return &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: "https://tracker.example/cb",
		Scopes: []string{"launch/patient", "openid"}, Endpoint: oauth2.Endpoint{AuthURL: h.endpoint("authorization_endpoint"),
			TokenURL: h.endpoint("token_endpoint")}}
}
