package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/internal/nodetest"
	"github.com/patientaccess/gateway/oauth"
)

// planNoClaim has no member_id or patient_id claim.
var planNoClaim = nodetest.OIDCAccount{Sub: "no-claim-5", Password: "no-claim-at-the-plan",
	Claims: map[string]any{"name": "Dana Noclaim"}}

// refusalCase is one way a sign-in through the provider must fail closed.
type refusalCase struct {
	name    string
	run     func(t *testing.T, h *planHarness, b *browser) page
	status  int
	text    string // on the page the member reads
	outcome string // of the member.signin audit event
	reason  string // its reason
	member  string // its member key ("" when no id_token was accepted)
}

// atPath stops a browser before it follows a redirect to path.
func atPath(path string) func(*http.Request) bool {
	return func(req *http.Request) bool { return req.URL.Path == path }
}

// callbackURL signs acct in at the provider and returns the URL it sends
// the browser back to, without following it.
func callbackURL(t *testing.T, h *planHarness, b *browser, acct nodetest.OIDCAccount) *url.URL {
	t.Helper()
	p := h.signInWithPlan(b, b.get(h.base+oauth.PathLogin), acct)
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil || loc.Path != oauth.PathPlanCallback || loc.Query().Get("state") == "" {
		t.Fatalf("want the provider's redirect to the callback, got %d Location=%q", p.status, p.header.Get("Location"))
	}
	return loc
}

func withParam(u *url.URL, name, value string) string {
	q := u.Query()
	q.Set(name, value)
	c := *u
	c.RawQuery = q.Encode()
	return c.String()
}

// TestPlanSignInRefusals: every way a sign-in through the plan's provider
// can go wrong shows the member a clear page, is audited (under the
// provider's subject once it is known, never the name), and leaves no
// session and no sign-in state behind.
func TestPlanSignInRefusals(t *testing.T) {
	h := newPlanHarness(t, memoryStore, linkByIdentifier, nil, append(planAccounts, planNoClaim)...)
	cases := []refusalCase{
		{name: "no Patient matches", status: 403, text: "could not find your member record",
			outcome: "denied", reason: "no patient matches the member claim", member: oauth.MemberKey(h.op.Issuer, planNobody.Sub),
			run: func(t *testing.T, h *planHarness, b *browser) page {
				return h.signInWithPlan(b, b.get(h.base+oauth.PathLogin), planNobody)
			}},
		{name: "member claim missing", status: 403, text: "could not find your member record",
			outcome: "denied", reason: "member claim missing", member: oauth.MemberKey(h.op.Issuer, planNoClaim.Sub),
			run: func(t *testing.T, h *planHarness, b *browser) page {
				return h.signInWithPlan(b, b.get(h.base+oauth.PathLogin), planNoClaim)
			}},
		{name: "state changed", status: 400, text: "sign-in link has expired", outcome: "denied", reason: "state mismatch",
			run: func(t *testing.T, h *planHarness, b *browser) page {
				h.stopAt(b, atPath(oauth.PathPlanCallback))
				return b.get(withParam(callbackURL(t, h, b, planAlice), "state", "forged-state"))
			}},
		{name: "callback in another browser", status: 400, text: "sign-in link has expired", outcome: "denied", reason: "state mismatch",
			run: func(t *testing.T, h *planHarness, victim *browser) page {
				attacker := h.planBrowser(atPath(oauth.PathPlanCallback))
				cb := callbackURL(t, h, attacker, planNobody)
				h.stopAt(victim, atPath("/auth"))
				h.toProvider(victim, victim.get(h.base+oauth.PathLogin)) // the victim's own sign-in, pending
				return victim.get(cb.String())
			}},
		{name: "callback without any state", status: 400, text: "sign-in link has expired", outcome: "denied", reason: "state cookie missing",
			run: func(t *testing.T, h *planHarness, b *browser) page {
				return b.get(h.base + oauth.PathPlanCallback + "?code=abc&state=xyz")
			}},
		{name: "nonce changed on the way to the provider", status: 400, text: "did not sign you in", outcome: "denied", reason: "nonce mismatch",
			run: func(t *testing.T, h *planHarness, b *browser) page {
				h.stopAt(b, atPath("/auth"))
				redirect := h.toProvider(b, b.get(h.base+oauth.PathLogin))
				loc, _ := url.Parse(redirect.header.Get("Location"))
				at := b.get(withParam(loc, "nonce", "attacker-nonce"))
				h.stopAt(b, nil)
				return fromNode(h.op.SignIn(t, b.client, toNode(at), planAlice.Sub, planAlice.Password))
			}},
		{name: "id_token signature tampered", status: 502, text: "could not finish signing you in", outcome: "error", reason: "id_token invalid",
			run: func(t *testing.T, h *planHarness, b *browser) page {
				h.op.TamperNextIDToken(t)
				return h.signInWithPlan(b, b.get(h.base+oauth.PathLogin), planAlice)
			}},
		{name: "iss of another provider", status: 400, text: "did not come from " + planName, outcome: "denied", reason: "iss does not match the provider",
			run: func(t *testing.T, h *planHarness, b *browser) page {
				h.stopAt(b, atPath(oauth.PathPlanCallback))
				return b.get(withParam(callbackURL(t, h, b, planAlice), "iss", "https://evil.example"))
			}},
		{name: "member cancels at the provider", status: 401, text: "did not sign you in", outcome: "denied", reason: "provider answered access_denied",
			run: func(t *testing.T, h *planHarness, b *browser) page {
				at := h.toProvider(b, b.get(h.base+oauth.PathLogin))
				return fromNode(h.op.Cancel(t, b.client, toNode(at)))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkRefusal(t, h, tc) })
	}
}

// checkRefusal runs one case in a fresh browser and checks the page, the
// audit event, and that nothing was left signed in.
func checkRefusal(t *testing.T, h *planHarness, tc refusalCase) {
	t.Helper()
	b := h.planBrowser(nil)
	p := tc.run(t, h, b)
	if p.status != tc.status || !strings.Contains(p.body, tc.text) {
		t.Fatalf("got %d %s, want %d with %q:\n%s", p.status, p.url, tc.status, tc.text, p.body)
	}
	if !strings.Contains(p.body, planHelp) || !strings.Contains(p.body, `href="/login"`) {
		t.Errorf("the refusal page is a dead end: no help contact or no way back to sign in")
	}
	events := h.events("member.signin")
	if len(events) == 0 {
		t.Fatal("no member.signin audit event")
	}
	e := events[0]
	if e.Outcome != tc.outcome || e.Reason != tc.reason || e.Member != tc.member || e.Patient != "" {
		t.Errorf("audit event %+v, want outcome %q reason %q member %q and no patient", e, tc.outcome, tc.reason, tc.member)
	}
	if text := h.auditText(); strings.Contains(text, "Nomatch") || strings.Contains(text, "Noclaim") {
		t.Errorf("the audit trail names a member:\n%s", text)
	}
	base, _ := url.Parse(h.base)
	for _, c := range b.client.Jar.Cookies(base) {
		if c.Name == "pag_signin" {
			t.Error("the sign-in state cookie was left behind")
		}
	}
	h.stopAt(b, nil)
	if h.signedIn(b) {
		t.Error("a refused sign-in left the member signed in")
	}
}

// TestPlanSignInReplayedCallback: the provider's answer signs the member
// in once; the same callback again (back button, or someone who copied the
// URL) is refused and audited.
func TestPlanSignInReplayedCallback(t *testing.T) {
	h := newPlanHarness(t, memoryStore, linkByIdentifier, nil)
	b := h.planBrowser(atPath(oauth.PathPlanCallback))
	cb := callbackURL(t, h, b, planAlice)
	h.stopAt(b, nil)
	if p := b.get(cb.String()); p.url.Path != oauth.PathAccount || !h.signedIn(b) {
		t.Fatalf("first use of the callback: %d %s", p.status, p.url)
	}
	for name, replay := range map[string]*browser{"same browser": b, "another browser": h.planBrowser(nil)} {
		if p := replay.get(cb.String()); p.status != 400 || !strings.Contains(p.body, "sign-in link has expired") {
			t.Errorf("%s: replayed callback answered %d:\n%s", name, p.status, p.body)
		}
		if e := h.events("member.signin")[0]; e.Outcome != "denied" || e.Reason != "state cookie missing" {
			t.Errorf("%s: replay audited as %+v", name, e)
		}
	}
}

// TestPlanSignInSeveralPatients: a member id that two Patients carry links
// to neither; the member sees the help contact (as on every refusal).
func TestPlanSignInSeveralPatients(t *testing.T) {
	src := fhir.NewMemorySource()
	for _, id := range []string{"twin-1", "twin-2"} {
		raw := `{"resourceType":"Patient","id":"` + id + `","meta":{"lastUpdated":"2024-01-01T00:00:00Z"},` +
			`"identifier":[{"system":"` + fhir.DemoMemberIDSystem + `","value":"DEMO-M-1001"}]}`
		if err := src.Add([]byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	h := newPlanHarness(t, memoryStore, linkByIdentifier, func(_ *gateway.Config, opts *gateway.Options) { opts.Patients = src })
	checkRefusal(t, h, refusalCase{status: 403, text: "could not find your member record", outcome: "denied",
		reason: "several patients match the member claim", member: oauth.MemberKey(h.op.Issuer, planAlice.Sub),
		run: func(t *testing.T, h *planHarness, b *browser) page {
			return h.signInWithPlan(b, b.get(h.base+oauth.PathLogin), planAlice)
		}})
}

// TestPlanSignInNoSuchPatientID: with patient-id links, a claim naming a
// Patient the FHIR source does not have links nobody.
func TestPlanSignInNoSuchPatientID(t *testing.T) {
	h := newPlanHarness(t, memoryStore, linkByPatientID, nil)
	checkRefusal(t, h, refusalCase{status: 403, text: "could not find your member record", outcome: "denied",
		reason: "no patient matches the member claim", member: oauth.MemberKey(h.op.Issuer, planNobody.Sub),
		run: func(t *testing.T, h *planHarness, b *browser) page {
			return h.signInWithPlan(b, b.get(h.base+oauth.PathLogin), planNobody)
		}})
}

// TestPlanSignInExpiredIDToken: an id_token past its exp by the gateway's
// clock is refused.
func TestPlanSignInExpiredIDToken(t *testing.T) {
	h := newPlanHarness(t, memoryStore, linkByIdentifier, func(_ *gateway.Config, opts *gateway.Options) {
		opts.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	})
	checkRefusal(t, h, refusalCase{status: 502, text: "could not finish signing you in", outcome: "error", reason: "id_token invalid",
		run: func(t *testing.T, h *planHarness, b *browser) page {
			return h.signInWithPlan(b, b.get(h.base+oauth.PathLogin), planAlice)
		}})
}

// TestPlanProviderDown: a provider that does not answer, before the member
// leaves or while they are away, gives a clear page, not a crash.
func TestPlanProviderDown(t *testing.T) {
	t.Run("before sign-in", func(t *testing.T) {
		h := newPlanHarness(t, memoryStore, linkByIdentifier, nil)
		h.op.Stop()
		checkRefusal(t, h, refusalCase{status: 503, text: "could not reach " + planName, outcome: "error", reason: "provider unreachable",
			run: func(t *testing.T, h *planHarness, b *browser) page {
				return h.toProvider(b, b.get(h.base+oauth.PathLogin))
			}})
	})
	t.Run("at the token exchange", func(t *testing.T) {
		h := newPlanHarness(t, memoryStore, linkByIdentifier, nil)
		checkRefusal(t, h, refusalCase{status: 502, text: "could not finish signing you in", outcome: "error", reason: "provider unreachable",
			run: func(t *testing.T, h *planHarness, b *browser) page {
				h.stopAt(b, atPath(oauth.PathPlanCallback))
				cb := callbackURL(t, h, b, planAlice)
				h.op.Stop()
				return b.get(cb.String())
			}})
	})
}
