package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/store/memory"
	"github.com/patientaccess/gateway/gateway/store/storetest"
	"github.com/patientaccess/gateway/oauth"
)

// TestPlanSignInLaunch is a member's launch end to end with sign-in through
// the plan's OpenID provider (panva's oidc-provider): the app sends alice to
// the gateway, she follows "Sign in with {plan}" on the login page, signs in
// and consents at the provider, is linked to her Patient (by member
// identifier, or by Patient id), consents at the gateway, and the app
// (golang.org/x/oauth2 with PKCE) reads her Patient and claims and gets 404
// for bob's. On each store; the audit trail names her by the provider's
// subject, never by name.
func TestPlanSignInLaunch(t *testing.T) {
	for name, open := range stores(t) {
		for mode, link := range map[string]string{"identifier": linkByIdentifier, "patient-id": linkByPatientID} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				h := newPlanHarness(t, open, link, nil)
				conf := h.registerApp(false, "approved")
				tok := h.launchWithPlan(conf, planAlice)
				alice, bob := "alice-1001", "bob-2002"

				if got := tok.Extra("patient"); got != alice {
					t.Fatalf("token patient = %v, want %s", got, alice)
				}
				h.checkIDToken(tok, "Patient/"+alice)
				if code, body := h.fhirGet(tok.AccessToken, "/Patient/"+alice); code != 200 || body["id"] != alice {
					t.Fatalf("read own Patient: %d %v", code, body["id"])
				}
				code, bundle := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit")
				if code != 200 || len(entries(bundle)) != 7 {
					t.Fatalf("search own claims: %d, %d entries, want 7", code, len(entries(bundle)))
				}
				if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+bob); code != 404 {
					t.Fatalf("read bob's Patient with alice's token: %d, want 404", code)
				}
				if code, _ := h.fhirGet(tok.AccessToken, "/Coverage/cov-bob-2002"); code != 404 {
					t.Fatalf("read bob's Coverage with alice's token: %d, want 404", code)
				}

				key := oauth.MemberKey(h.op.Issuer, planAlice.Sub)
				l, err := h.gw.Store.GetMemberLink(context.Background(), key)
				if err != nil || l.PatientID != alice || l.Rule != link {
					t.Fatalf("stored link = %+v, %v; want %s by %s", l, err, alice, link)
				}
				checkAuditNamesSubject(t, h.harness, key, alice)
			})
		}
	}
}

// checkAuditNamesSubject checks that the sign-in and the authorization were
// audited under the member key (which carries the provider's subject) and
// that no event carries the member's name.
func checkAuditNamesSubject(t *testing.T, h *harness, key, patient string) {
	t.Helper()
	signins := h.events("member.signin")
	if len(signins) == 0 || signins[0].Outcome != "success" || signins[0].Member != key || signins[0].Patient != patient {
		t.Fatalf("member.signin events = %+v, want success for %s / %s", signins, key, patient)
	}
	if !strings.Contains(key, planAlice.Sub) {
		t.Fatalf("member key %q does not carry the provider's subject", key)
	}
	auth := h.events("authorize")
	if len(auth) == 0 || auth[0].Member != key {
		t.Fatalf("authorize events = %+v, want member %s", auth, key)
	}
	if text := h.auditText(); strings.Contains(text, "Alice") || strings.Contains(text, "Synthetic") {
		t.Fatalf("the audit trail names the member:\n%s", text)
	}
}

// TestPlanSignOut: signing out ends the gateway session on the server, so
// the old session cookie no longer signs anyone in.
func TestPlanSignOut(t *testing.T) {
	h := newPlanHarness(t, memoryStore, linkByIdentifier, nil)
	b := h.planBrowser(nil)
	p := h.signInWithPlan(b, b.get(h.base+oauth.PathLogin), planAlice)
	if p.status != 200 || p.url.Path != oauth.PathAccount || !strings.Contains(p.body, "signed in as Alice Synthetic") {
		t.Fatalf("after sign-in: want the connected-apps page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	base, _ := url.Parse(h.base)
	var session *http.Cookie
	for _, c := range b.client.Jar.Cookies(base) {
		if c.Name == "pag_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie after sign-in")
	}
	out := b.post(h.base+oauth.PathLogout, url.Values{"csrf_token": {p.field(t, csrfRE)}})
	if out.url.Path != oauth.PathLogin {
		t.Fatalf("sign out: ended on %d %s, want the login page", out.status, out.url)
	}
	if h.signedIn(b) {
		t.Fatal("still signed in after signing out")
	}
	replay := h.planBrowser(nil)
	replay.client.Jar.SetCookies(base, []*http.Cookie{{Name: session.Name, Value: session.Value, Path: "/"}})
	if h.signedIn(replay) {
		t.Fatal("the session cookie of a signed-out member still signs in")
	}
}

// TestLocalLoginOff: with GATEWAY_LOCAL_LOGIN=false the login page offers
// only the plan's sign-in, and a demo member's correct password is refused.
func TestLocalLoginOff(t *testing.T) {
	h := newPlanHarness(t, memoryStore, linkByIdentifier, func(cfg *gateway.Config, _ *gateway.Options) {
		cfg.OIDC.DisableLocalLogin = true
	})
	b := h.planBrowser(nil)
	p := b.get(h.base + oauth.PathLogin + "?return_to=/account/apps")
	if strings.Contains(p.body, `type="password"`) || !strings.Contains(p.body, "Sign in with "+planName) {
		t.Fatalf("login page with local login off:\n%s", p.body)
	}
	acct := h.signInWithPlan(b, p, planBob)
	if acct.url.Path != oauth.PathAccount || !strings.Contains(acct.body, "signed in as Bob Synthetic") {
		t.Fatalf("plan sign-in with local login off ended on %d %s", acct.status, acct.url)
	}
	// A well-formed password form (with this browser's CSRF token) for a
	// demo member with the right password is still refused.
	r := b.post(h.base+oauth.PathLogin, url.Values{"csrf_token": {acct.field(t, csrfRE)}, "return_to": {"/account/apps"},
		"username": {"alice"}, "password": {demoPassword}})
	if r.status != http.StatusForbidden || strings.Contains(b.get(h.base+oauth.PathAccount).body, "Alice") {
		t.Fatalf("local password sign-in with local login off: %d:\n%s", r.status, r.body)
	}
}

// countingDirectory is the demo data's patient lookup, counting lookups;
// gone makes the member ids disappear, as when the plan's records change.
type countingDirectory struct {
	src     *fhir.MemorySource
	mu      sync.Mutex
	lookups int
	gone    bool
}

func (d *countingDirectory) FindPatients(ctx context.Context, system, value string) ([]string, error) {
	d.mu.Lock()
	d.lookups++
	gone := d.gone
	d.mu.Unlock()
	if gone {
		return nil, nil
	}
	return d.src.FindPatients(ctx, system, value)
}

func (d *countingDirectory) PatientExists(ctx context.Context, id string) (bool, error) {
	return d.src.PatientExists(ctx, id)
}

func (d *countingDirectory) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lookups
}

// TestPlanLinkAgesOut: a member's Patient link is kept and reused while it
// is younger than GATEWAY_MEMBER_LINK_MAX_AGE; once older, the member's
// session no longer counts, and the next sign-in looks the Patient up
// again, so a member id that no longer matches stops linking.
func TestPlanLinkAgesOut(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	src := fhir.NewMemorySource()
	if err := fhir.LoadDemo(src); err != nil {
		t.Fatal(err)
	}
	dir := &countingDirectory{src: src}
	open := func(testing.TB) gateway.Store { return memory.New(clock.Now) }
	h := newPlanHarness(t, open, linkByIdentifier, func(cfg *gateway.Config, opts *gateway.Options) {
		cfg.OIDC.LinkMaxAge = 20 * time.Minute
		opts.Now, opts.Patients = clock.Now, dir
	})
	key := oauth.MemberKey(h.op.Issuer, planAlice.Sub)
	signIn := func() (*browser, page) {
		b := h.planBrowser(nil)
		return b, h.signInWithPlan(b, b.get(h.base+oauth.PathLogin), planAlice)
	}
	checkedAt := func() time.Time {
		l, err := h.gw.Store.GetMemberLink(context.Background(), key)
		if err != nil {
			t.Fatalf("stored link: %v", err)
		}
		return l.CheckedAt
	}

	if _, p := signIn(); p.url.Path != oauth.PathAccount || dir.count() != 1 {
		t.Fatalf("first sign-in: %d %s after %d lookups", p.status, p.url, dir.count())
	}
	t0 := clock.Now()
	clock.Advance(10 * time.Minute)
	b, _ := signIn()
	if dir.count() != 1 || !checkedAt().Equal(t0) || !h.signedIn(b) {
		t.Fatalf("sign-in with a fresh link: %d lookups (want 1), checked at %v (want %v)", dir.count(), checkedAt(), t0)
	}

	clock.Advance(11 * time.Minute) // the link is 21 minutes old, the session 11
	if h.signedIn(b) {
		t.Fatal("a session still counts after its member's link aged out")
	}
	if _, p := signIn(); p.url.Path != oauth.PathAccount || dir.count() != 2 || !checkedAt().Equal(clock.Now()) {
		t.Fatalf("sign-in with an aged link: %d %s, %d lookups (want 2), checked at %v", p.status, p.url, dir.count(), checkedAt())
	}

	dir.mu.Lock()
	dir.gone = true
	dir.mu.Unlock()
	clock.Advance(21 * time.Minute)
	if _, p := signIn(); p.status != 403 || !strings.Contains(p.body, planHelp) {
		t.Fatalf("sign-in after the member id went away: %d:\n%s", p.status, p.body)
	}
	if _, err := h.gw.Store.GetMemberLink(context.Background(), key); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("the stale link is still stored: %v", err)
	}
}

// TestOnlyOAuthImportsGoOIDC keeps the OpenID Connect relying-party library
// in one place: the relying party oauth/oidcrp that members and admins sign
// in through, and the oauth package that reads its id_tokens (tests aside).
func TestOnlyOAuthImportsGoOIDC(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/patientaccess/gateway/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, d := range fields[1:] {
			if strings.HasPrefix(d, "github.com/coreos/go-oidc") && fields[0] != "github.com/patientaccess/gateway/oauth" &&
				fields[0] != "github.com/patientaccess/gateway/oauth/oidcrp" {
				t.Errorf("%s imports %s; only oauth and oauth/oidcrp may", fields[0], d)
			}
		}
	}
}

// TestPlanSignInReturnsOnlyToLocalPaths: the sign-in link carries where the
// member was going, but only a path on the gateway; anything else lands on
// the connected-apps page.
func TestPlanSignInReturnsOnlyToLocalPaths(t *testing.T) {
	h := newPlanHarness(t, memoryStore, linkByIdentifier, nil)
	for ret, want := range map[string]string{
		"/account/apps?revoked=1": "/account/apps",
		"//evil.example/x":        "/account/apps",
		"https://evil.example/":   "/account/apps",
		"/\t/evil.example":        "/account/apps",
	} {
		b := h.planBrowser(nil)
		at := b.get(h.base + oauth.PathPlanSignIn + "?return_to=" + url.QueryEscape(ret))
		p := fromNode(h.op.SignIn(t, b.client, toNode(at), planAlice.Sub, planAlice.Password))
		if p.url.Host != strings.TrimPrefix(h.base, "http://") || p.url.Path != want {
			t.Errorf("return_to %q: ended on %s, want %s", ret, p.url, want)
		}
	}
}

// TestPlanSignInUpstream: in front of the plan's FHIR server (Medplum),
// members signed in through the plan's provider are linked by asking that
// server, by member identifier or by Patient id; an app then reads only
// the member's data from it. A member id that two Patients upstream carry
// links nobody.
func TestPlanSignInUpstream(t *testing.T) {
	m := startMedplum(t)
	for mode, link := range map[string]string{"identifier": linkByIdentifier, "patient-id": linkByPatientID} {
		t.Run(mode, func(t *testing.T) {
			h := newPlanHarness(t, memoryStore, link, func(cfg *gateway.Config, _ *gateway.Options) { cfg.Upstream = m.upstream })
			tok := h.launchWithPlan(h.registerApp(false, "approved"), planAlice)
			if got := tok.Extra("patient"); got != "alice-1001" {
				t.Fatalf("token patient = %v, want alice-1001", got)
			}
			if code, body := h.fhirGet(tok.AccessToken, "/Patient/alice-1001"); code != 200 || body["id"] != "alice-1001" {
				t.Fatalf("read own Patient upstream: %d %v", code, body["id"])
			}
			if code, _ := h.fhirGet(tok.AccessToken, "/Patient/bob-2002"); code != 404 {
				t.Fatalf("read bob's Patient upstream with alice's token: %d, want 404", code)
			}
		})
	}
	var asked bool
	for _, r := range m.requests(t) {
		asked = asked || r.Path == "/fhir/Patient" && strings.Contains(r.Query, "identifier=")
	}
	if !asked {
		t.Error("Medplum was never asked Patient?identifier=…")
	}

	twin := `{"resourceType":"Patient","id":"bob-twin","identifier":[{"system":"` + fhir.DemoMemberIDSystem + `","value":"DEMO-M-2002"}]}`
	if status, body := m.do(t, http.MethodPut, m.url+"/Patient/bob-twin", strings.NewReader(twin)); status/100 != 2 {
		t.Fatalf("add a second Patient with bob's member id: %d %s", status, body)
	}
	h := newPlanHarness(t, memoryStore, linkByIdentifier, func(cfg *gateway.Config, _ *gateway.Options) { cfg.Upstream = m.upstream })
	checkRefusal(t, h, refusalCase{status: 403, text: "could not find your member record", outcome: "denied",
		reason: "several patients match the member claim", member: oauth.MemberKey(h.op.Issuer, planBob.Sub),
		run: func(t *testing.T, h *planHarness, b *browser) page {
			return h.signInWithPlan(b, b.get(h.base+oauth.PathLogin), planBob)
		}})
}
