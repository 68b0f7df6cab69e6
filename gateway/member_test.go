package gateway_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/store/storetest"
)

// clockHarness is a harness whose gateway reads time from a clock the test
// moves.
func clockHarness(t *testing.T, configure func(*gateway.Config)) (*harness, *storetest.Clock) {
	t.Helper()
	clock := storetest.NewClock(time.Now())
	h := newHarnessSetup(t, memoryStore, func(cfg *gateway.Config, opts *gateway.Options) {
		opts.Now = clock.Now
		if configure != nil {
			configure(cfg)
		}
	})
	return h, clock
}

// consentWith answers the consent page p with form (the CSRF token added)
// and returns the code.
func (h *harness) consentWith(b *browser, p page, l launch, form url.Values) string {
	h.t.Helper()
	form.Set("csrf_token", p.field(h.t, csrfRE))
	form.Set("decision", "allow")
	return h.codeFrom(b.post(h.base+p.field(h.t, actionRE), form), l.state)
}

// consentPage signs the member in and returns the consent page of l.
func (h *harness) consentPage(b *browser, l launch, user string) page {
	h.t.Helper()
	p := b.login(b.get(l.url), user)
	if p.status != 200 || !strings.Contains(p.body, `id="hipaa-warning"`) {
		h.t.Fatalf("want the consent page, got %d:\n%s", p.status, p.body)
	}
	return p
}

func (h *harness) exchange(l launch, code string) *oauth2.Token {
	h.t.Helper()
	tok, err := l.conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		h.t.Fatalf("exchange: %v", err)
	}
	return tok
}

// TestConsentGrantsExplicitTypes: with every category ticked, the token's
// scope names each served type: never patient/*, which would silently
// cover a type the plan serves later. Before, the grant was patient/*.read.
func TestConsentGrantsExplicitTypes(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")
	scope := strings.Fields(tok.Extra("scope").(string))
	for _, want := range []string{"patient/Patient.read", "patient/Coverage.read", "patient/ExplanationOfBenefit.read", "patient/Organization.read"} {
		if !slices.Contains(scope, want) {
			t.Errorf("scope %v lacks %s", scope, want)
		}
	}
	if slices.ContainsFunc(scope, func(s string) bool { return strings.Contains(s, "*") }) {
		t.Fatalf("scope %v holds a wildcard", scope)
	}
}

// TestOneTimeGrant: "just this once" is an hour with no refresh token; the
// token stops working when the hour is over.
func TestOneTimeGrant(t *testing.T) {
	h, clock := clockHarness(t, nil)
	conf := h.registerApp(false, "approved")
	b := h.browser()
	l := h.newLaunch(conf)
	p := h.consentPage(b, l, "alice")
	if !strings.Contains(p.body, `value="once"`) || !strings.Contains(p.body, `value="limited" checked`) ||
		!strings.Contains(p.body, "goes 90 days without getting your records, its access ends early") {
		t.Fatalf("the consent page does not offer both durations with the idle limit:\n%s", p.body)
	}
	tok := h.exchange(l, h.consentWith(b, p, l, url.Values{"share": {"coverage"}, "duration": {"once"}}))
	if tok.RefreshToken != "" || strings.Contains(tok.Extra("scope").(string), "offline_access") {
		t.Fatalf("a one-time grant got a refresh token or offline_access: %v", tok.Extra("scope"))
	}
	if exp := time.Until(tok.Expiry); exp > time.Hour+time.Minute {
		t.Fatalf("one-time access token lives %s", exp)
	}
	apps := b.get(h.base + "/account/apps")
	if !strings.Contains(apps.body, "(one-time access)") {
		t.Fatalf("the portal does not say the access is one-time:\n%s", apps.body)
	}
	if code, _ := h.fhirGet(tok.AccessToken, "/Coverage"); code != 200 {
		t.Fatalf("within the hour: %d", code)
	}
	clock.Advance(time.Hour)
	if code, _ := h.fhirGet(tok.AccessToken, "/Coverage"); code != 401 {
		t.Fatalf("after the hour: %d, want 401", code)
	}
	if apps := b.get(h.base + "/account/apps"); strings.Contains(apps.body, "<article") {
		t.Fatalf("an ended grant is still listed:\n%s", apps.body)
	}
}

// TestTimeLimitedGrantEnds: a time-limited grant lasts the configured
// months; its refresh token never outlives it; once over, the token
// endpoint answers invalid_grant saying that the member must consent again.
func TestTimeLimitedGrantEnds(t *testing.T) {
	h, clock := clockHarness(t, func(c *gateway.Config) { c.Plan.GrantMonths = 1 })
	conf := h.registerApp(false, "approved")
	granted := clock.Now()
	tok := h.launchAs(conf, "alice")
	end := granted.AddDate(0, 1, 0)
	apps := h.browser()
	portal := apps.login(apps.get(h.base+"/login?return_to=/account/apps"), "alice")
	if want := end.UTC().Format("January 2, 2006"); !strings.Contains(strings.ReplaceAll(portal.body, " 0", " "), strings.ReplaceAll(want, " 0", " ")) {
		t.Errorf("the portal does not show the end date %s:\n%s", want, portal.body)
	}
	info := h.introspect(conf, tok.RefreshToken)
	exp, _ := info["exp"].(float64)
	if info["active"] != true || time.Unix(int64(exp), 0).After(end.Add(time.Second)) {
		t.Fatalf("refresh token expires %v, after the grant's end %v: %v", time.Unix(int64(exp), 0), end, info)
	}
	fresh, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh within the grant: %v", err)
	}
	clock.Advance(end.Sub(granted))
	_, err = conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token()
	var re *oauth2.RetrieveError
	if !errorsAs(err, &re) || re.ErrorCode != "invalid_grant" || !strings.Contains(re.ErrorDescription, "authorization for this app ended") ||
		!strings.Contains(re.ErrorDescription, "consent") {
		t.Fatalf("refresh after the end: %v, want invalid_grant saying the grant ended and needs consent", err)
	}
	if code, _ := h.fhirGet(fresh.AccessToken, "/Patient/"+h.patient["alice"]); code != 401 {
		t.Fatalf("access token after the grant ended: %d", code)
	}
}

// TestSensitiveRecordsNeedOptIn: the consent page's sensitive opt-in is
// unticked by default; without it the labelled claim is withheld from
// reads and searches, with it the app gets it; the portal says which.
func TestSensitiveRecordsNeedOptIn(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	const labelled = "/ExplanationOfBenefit/eob-alice-1001-8"
	for _, optIn := range []bool{false, true} {
		b := h.browser()
		l := h.newLaunch(conf)
		p := h.consentPage(b, l, "alice")
		if !strings.Contains(p.body, `name="sensitive" value="yes" aria-describedby`) || strings.Contains(p.body, `name="sensitive" value="yes" checked`) {
			t.Fatalf("the sensitive opt-in is missing or ticked by default:\n%s", p.body)
		}
		form := url.Values{"share": p.offered(), "duration": {"limited"}}
		if optIn {
			form.Set("sensitive", "yes")
		}
		tok := h.exchange(l, h.consentWith(b, p, l, form))
		status, _ := h.fhirGet(tok.AccessToken, labelled)
		_, bundle := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit?_count=100")
		total, _ := bundle["total"].(float64)
		wantStatus, wantTotal := 404, 7.0
		if optIn {
			wantStatus, wantTotal = 200, 8
		}
		if status != wantStatus || total != wantTotal {
			t.Errorf("opt-in %v: read %d (want %d), search total %v (want %v)", optIn, status, wantStatus, total, wantTotal)
		}
		portal := b.get(h.base + "/account/apps")
		if shown := strings.Contains(portal.body, "<dd>Shared</dd>"); shown != optIn {
			t.Errorf("opt-in %v: the portal says shared = %v", optIn, shown)
		}
		b.revokeApp(portal, conf.ClientID)
	}
}

// TestAccessHistory: after the app reads, the member sees each access
// (when, what kind, how many, from where) and downloads the same as CSV and
// JSON; the history stays after the app is revoked; another member, or an
// app never connected, gets 404.
func TestAccessHistory(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")
	h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"])
	h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit?_count=100")
	h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit/no-such-claim") // not a disclosure: not listed
	b := h.browser()
	b.login(b.get(h.base+"/login?return_to=/account/apps"), "alice")
	path := "/account/apps/" + conf.ClientID + "/history"
	p := b.get(h.base + path)
	for _, want := range []string{"What Test Tracker got", "<td class=\"kind\">claims and payments</td><td>7</td><td>127.0.0.1</td>",
		"<td class=\"kind\">your basic details</td><td>1</td><td>127.0.0.1</td>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the history page lacks %q:\n%s", want, p.body)
		}
	}
	if n := strings.Count(p.body, "<tr><td>"); n != 2 {
		t.Errorf("history lists %d accesses, want 2", n)
	}
	c := b.get(h.base + path + ".csv")
	rows, err := csv.NewReader(strings.NewReader(c.body)).ReadAll()
	if err != nil || len(rows) != 3 || !slices.Equal(rows[0], []string{"time", "app", "client_id", "resource_types", "count", "client_ip"}) ||
		rows[1][3] != "ExplanationOfBenefit" || rows[1][4] != "7" || rows[2][3] != "Patient" || rows[1][5] != "127.0.0.1" ||
		!strings.HasPrefix(c.header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("CSV download (%v): %q %v", err, c.header.Get("Content-Disposition"), rows)
	}
	var doc struct {
		App      string
		Accesses []struct {
			Time          time.Time `json:"time"`
			ResourceTypes []string  `json:"resource_types"`
			Count         int       `json:"count"`
			ClientIP      string    `json:"client_ip"`
		}
	}
	j := b.get(h.base + path + ".json")
	if err := json.Unmarshal([]byte(j.body), &doc); err != nil || doc.App != "Test Tracker" || len(doc.Accesses) != 2 ||
		doc.Accesses[0].Count != 7 || doc.Accesses[1].ResourceTypes[0] != "Patient" || doc.Accesses[0].Time.IsZero() {
		t.Errorf("JSON download (%v): %s", err, j.body)
	}
	b.revokeApp(b.get(h.base+"/account/apps"), conf.ClientID)
	if after := b.get(h.base + path); after.status != 200 || strings.Count(after.body, "<tr><td>") != 2 {
		t.Errorf("history after revoking: %d", after.status)
	}
	bob := h.browser()
	bob.login(bob.get(h.base+"/login?return_to=/account/apps"), "bob")
	for _, u := range []string{path, path + ".csv", path + ".json", "/account/apps/no-such-app/history"} {
		if r := bob.get(h.base + u); r.status != http.StatusNotFound || strings.Contains(r.body, "127.0.0.1") {
			t.Errorf("bob reading %s: %d", u, r.status)
		}
	}
	var trail struct {
		Events []map[string]any `json:"events"`
	}
	h.admin("GET", "/admin/audit?limit=100", nil, &trail)
	for _, e := range trail.Events {
		if _, ok := e["client_ip"]; ok {
			t.Fatalf("the plan's audit trail shows a client IP: %v", e)
		}
	}
}

// TestNotFoundPage: an unknown page is the branded 404 with a way on; a
// known path with the wrong method is still 405.
func TestNotFoundPage(t *testing.T) {
	h := newHarness(t, memoryStore)
	b := h.browser()
	p := b.get(h.base + "/no/such/page")
	if p.status != 404 || !strings.Contains(p.body, "We could not find this page") || !strings.Contains(p.body, `href="/account/apps"`) ||
		!strings.Contains(p.body, "Riverbend Community Health Plan") {
		t.Fatalf("404 page: %d\n%s", p.status, p.body)
	}
	req, _ := http.NewRequest(http.MethodPut, h.base+"/oauth/token", nil)
	if r := b.do(req); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("PUT /oauth/token: %d, want 405", r.status)
	}
}

func errorsAs(err error, target any) bool { return err != nil && errors.As(err, target) }

// TestMemberCookiesAreSessionCookies: every cookie the member pages set
// ends when the browser closes (no Max-Age or Expires, but to delete one);
// the sign-in still ends on the server after its lifespan.
func TestMemberCookiesAreSessionCookies(t *testing.T) {
	h := newHarness(t, memoryStore)
	conf := h.registerApp(true, "approved")
	b := h.browser()
	var set []string
	b.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil {
			set = append(set, resp.Header.Values("Set-Cookie")...)
		}
		return resp, err
	})
	l := h.newLaunch(conf)
	p := h.consentPage(b, l, "alice")
	h.consentWith(b, p, l, url.Values{"share": p.offered(), "duration": {"limited"}})
	b.get(h.base + "/ui/lang?to=es&return_to=/account/apps")
	if len(set) < 3 {
		t.Fatalf("only %d cookies set: %v", len(set), set)
	}
	for _, c := range set {
		lower := strings.ToLower(c)
		deleting := strings.Contains(lower, "max-age=0")
		if !deleting && (strings.Contains(lower, "max-age=") || strings.Contains(lower, "expires=")) {
			t.Errorf("a cookie outlives the browser session: %s", c)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
