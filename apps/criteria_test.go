package apps

import (
	"crypto/elliptic"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// goodApp passes every automated criterion.
func goodApp() App {
	return App{ClientID: "good", Name: "Tracker", Developer: "Acme Health Apps", ContactEmail: "security@acme.example",
		RedirectURIs: []string{"https://acme.example/cb"}, SecretHash: HashSecret("s1"),
		Scopes:           []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs", "patient/Coverage.read"},
		PrivacyPolicyURL: "https://acme.example/privacy", TermsURL: "https://acme.example/terms", WebsiteURL: "https://acme.example/",
		LogoURI: "https://acme.example/logo.png", Status: StatusPending}
}

// TestCriteria checks each automated criterion on an app that passes it
// and on apps that fail it, with the problem it names.
func TestCriteria(t *testing.T) {
	ec := ecJWK(t, elliptic.P384(), "P-384", nil)
	other := App{ClientID: "other", Name: "Other", Status: StatusApproved, SecretHash: HashSecret("s2"),
		RedirectURIs: []string{"https://other.example/cb"}, JWKS: jwks(ec)}
	denied := App{ClientID: "denied", Name: "Tracker", Developer: "ACME health-apps", Status: StatusDenied,
		RedirectURIs: []string{"https://evil.example/cb"}, JWKS: jwks(rsaJWK(t, 2048, nil))}
	env := checkEnv{others: []App{other, denied}, types: []string{"Patient", "Coverage", "ExplanationOfBenefit"}}
	tests := []struct {
		criterion string
		name      string
		edit      func(*App)
		want      Outcome
		problem   string
	}{
		{CritRedirectHTTPS, "https", func(*App) {}, OutcomePass, ""},
		{CritRedirectHTTPS, "native public loopback and private-use", func(a *App) {
			a.Public, a.SecretHash = true, nil
			a.RedirectURIs = []string{"http://127.0.0.1:51004/cb", "http://[::1]/cb", "com.acme.tracker:/cb"}
		}, OutcomePass, ""},
		{CritRedirectHTTPS, "confidential loopback", func(a *App) { a.RedirectURIs = []string{"http://127.0.0.1:9/cb"} }, OutcomeFail, "only a native public app"},
		{CritRedirectHTTPS, "confidential private-use", func(a *App) { a.RedirectURIs = []string{"com.acme.tracker:/cb"} }, OutcomeFail, "private-use scheme"},
		{CritRedirectHTTPS, "localhost", func(a *App) { a.Public = true; a.RedirectURIs = []string{"http://localhost:9/cb"} }, OutcomeFail, "uses http"},
		{CritRedirectHTTPS, "plain http", func(a *App) { a.RedirectURIs = []string{"http://acme.example/cb"} }, OutcomeFail, "uses http"},
		{CritRedirectHTTPS, "scheme without a dot", func(a *App) { a.Public = true; a.RedirectURIs = []string{"tracker:/cb"} }, OutcomeFail, "scheme \"tracker\""},

		{CritRedirectExact, "exact", func(*App) {}, OutcomePass, ""},
		{CritRedirectExact, "harmless query", func(a *App) { a.RedirectURIs = []string{"https://acme.example/cb?app=tracker"} }, OutcomePass, ""},
		{CritRedirectExact, "wildcard", func(a *App) { a.RedirectURIs = []string{"https://*.acme.example/cb"} }, OutcomeFail, "wildcard"},
		{CritRedirectExact, "fragment", func(a *App) { a.RedirectURIs = []string{"https://acme.example/cb#x"} }, OutcomeFail, "fragment"},
		{CritRedirectExact, "redirector parameter", func(a *App) { a.RedirectURIs = []string{"https://acme.example/go?next=%2Fhome"} }, OutcomeFail, "open redirector"},
		{CritRedirectExact, "URL in a parameter", func(a *App) { a.RedirectURIs = []string{"https://acme.example/go?to=https%3A%2F%2Fevil.example"} }, OutcomeFail, "carries a URL"},

		{CritCredentialsUnique, "own secret", func(*App) {}, OutcomePass, ""},
		{CritCredentialsUnique, "public app", func(a *App) { a.Public, a.SecretHash = true, nil }, OutcomeNotApplicable, ""},
		{CritCredentialsUnique, "reused secret", func(a *App) { a.SecretHash = HashSecret("s2") }, OutcomeFail, "secret of app other"},
		{CritCredentialsUnique, "reused key", func(a *App) { a.SecretHash, a.JWKS = nil, jwks(withKid(ec, "renamed")) }, OutcomeFail, "registered for app other"},

		{CritKeysStrong, "no keys", func(*App) {}, OutcomeNotApplicable, ""},
		{CritKeysStrong, "strong keys", func(a *App) {
			a.SecretHash, a.JWKS = nil, jwks(rsaJWK(t, 2048, nil), ecJWK(t, elliptic.P384(), "P-384", nil))
		}, OutcomePass, ""},
		{CritKeysStrong, "https jwks_uri", func(a *App) { a.SecretHash, a.JWKSURI = nil, "https://acme.example/jwks" }, OutcomePass, ""},
		{CritKeysStrong, "weak key", func(a *App) { a.SecretHash, a.JWKS = nil, jwks(rsaJWK(t, 1024, nil)) }, OutcomeFail, "1024 bits"},
		{CritKeysStrong, "symmetric key", func(a *App) { a.SecretHash, a.JWKS = nil, json.RawMessage(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`) }, OutcomeFail, "private key material"},
		{CritKeysStrong, "http jwks_uri", func(a *App) { a.SecretHash, a.JWKSURI = nil, "http://127.0.0.1/jwks" }, OutcomeFail, "https"},

		{CritScopesPatient, "patient read scopes", func(*App) {}, OutcomePass, ""},
		{CritScopesPatient, "user scope", func(a *App) { a.Scopes = []string{"user/Patient.read"} }, OutcomeFail, "not in the patient context"},
		{CritScopesPatient, "system scope", func(a *App) { a.Scopes = []string{"system/*.rs"} }, OutcomeFail, "not in the patient context"},
		{CritScopesPatient, "write scope", func(a *App) { a.Scopes = []string{"patient/Coverage.cruds"} }, OutcomeFail, "read-only"},
		{CritScopesPatient, "unknown type", func(a *App) { a.Scopes = []string{"patient/Observation.rs"} }, OutcomeFail, "does not serve"},
		{CritScopesPatient, "EHR launch", func(a *App) { a.Scopes = []string{"launch"} }, OutcomeFail, "not offered"},
		{CritScopesPatient, "malformed", func(a *App) { a.Scopes = []string{"patient/Coverage"} }, OutcomeFail, "not a valid SMART scope"},

		{CritContact, "present", func(*App) {}, OutcomePass, ""},
		{CritContact, "no email", func(a *App) { a.ContactEmail = "" }, OutcomeFail, "contact email is missing"},
		{CritContact, "no developer", func(a *App) { a.Developer = " " }, OutcomeFail, "developer organisation is missing"},

		{CritLinksHTTPS, "https links", func(*App) {}, OutcomePass, ""},
		{CritLinksHTTPS, "no links at all", func(a *App) { a.PrivacyPolicyURL, a.TermsURL, a.WebsiteURL, a.LogoURI = "", "", "", "" }, OutcomePass, ""},
		{CritLinksHTTPS, "http privacy policy", func(a *App) { a.PrivacyPolicyURL = "http://127.0.0.1/privacy" }, OutcomeFail, "privacy_policy_url"},
		{CritLinksHTTPS, "http logo", func(a *App) { a.LogoURI = "http://localhost/logo.png" }, OutcomeFail, "logo_uri"},

		{CritNotDeniedDup, "new app", func(a *App) { a.Name = "Tracker Plus" }, OutcomePass, ""},
		{CritNotDeniedDup, "same as an approved app", func(a *App) { a.Name, a.RedirectURIs = "Y", other.RedirectURIs }, OutcomePass, ""},
		{CritNotDeniedDup, "same name and developer", func(*App) {}, OutcomeFail, "same name from the same developer"},
		{CritNotDeniedDup, "same redirect URI", func(a *App) { a.Name, a.RedirectURIs = "X", denied.RedirectURIs }, OutcomeFail, "redirect URI"},
		{CritNotDeniedDup, "same key", func(a *App) { a.Name, a.SecretHash, a.JWKS = "X", nil, denied.JWKS }, OutcomeFail, "public keys"},
	}
	covered := map[string][]Outcome{}
	for _, tc := range tests {
		t.Run(tc.criterion+"/"+tc.name, func(t *testing.T) {
			a := goodApp()
			if tc.criterion != CritNotDeniedDup {
				a.Name = "Tracker Pro" // not the denied app's name
			}
			tc.edit(&a)
			c := runChecks(a, env, t0)
			r, ok := c.Result(tc.criterion)
			if !ok {
				t.Fatalf("no result for %s", tc.criterion)
			}
			if r.Outcome != tc.want || !strings.Contains(strings.Join(r.Problems, "; "), tc.problem) {
				t.Fatalf("%s = %s %q, want %s mentioning %q", tc.criterion, r.Outcome, r.Problems, tc.want, tc.problem)
			}
			if (r.Outcome == OutcomeFail) != slices.Contains(c.Failed(), tc.criterion) {
				t.Fatalf("Failed() = %v disagrees with %s", c.Failed(), r.Outcome)
			}
		})
		covered[tc.criterion] = append(covered[tc.criterion], tc.want)
	}
	for _, cr := range Criteria() {
		if !cr.Automated {
			continue
		}
		if !slices.Contains(covered[cr.ID], OutcomePass) && !slices.Contains(covered[cr.ID], OutcomeNotApplicable) || !slices.Contains(covered[cr.ID], OutcomeFail) {
			t.Errorf("criterion %s lacks a passing or a failing case", cr.ID)
		}
	}
}

// TestManualCriteria: manual criteria are reported as such, never pass or
// fail by themselves, and the good app passes every automated one.
func TestManualCriteria(t *testing.T) {
	c := runChecks(goodApp(), checkEnv{}, t0)
	if !c.Passed() || c.CriteriaVersion != CriteriaVersion || !c.RanAt.Equal(t0) || len(c.Results) != len(criteria) {
		t.Fatalf("checks of the good app = %+v", c)
	}
	manual := 0
	for _, cr := range Criteria() {
		r, _ := c.Result(cr.ID)
		if !cr.Automated {
			manual++
			if r.Outcome != OutcomeManual {
				t.Errorf("manual criterion %s came out %s", cr.ID, r.Outcome)
			}
		}
	}
	if manual < 3 {
		t.Errorf("only %d manual criteria; the catalog names compromise, abusive traffic and impersonation", manual)
	}
}

// TestCriteriaCatalog: ids are unique and well-formed, every criterion is
// described, and the automated ones have a check.
func TestCriteriaCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Criteria() {
		if seen[c.ID] || c.ID == "" || strings.Trim(c.ID, "abcdefghijklmnopqrstuvwxyz-") != "" {
			t.Errorf("criterion id %q is repeated or malformed", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || len(c.Description) < 40 || c.Automated != (c.check != nil) {
			t.Errorf("criterion %s: title %q, description %q, automated %v with check %v", c.ID, c.Title, c.Description, c.Automated, c.check != nil)
		}
	}
	if _, ok := CriterionByID(CritCompromise); !ok {
		t.Error("CriterionByID misses a criterion")
	}
	if _, ok := CriterionByID("nope"); ok {
		t.Error("CriterionByID finds an unknown id")
	}
}

// withKid returns a copy of the JWK under another key id.
func withKid(k map[string]any, kid string) map[string]any {
	c := maps.Clone(k)
	c["kid"] = kid
	return c
}

// TestCriteriaDoc: docs/app-criteria.md is the catalog the code applies,
// word for word (GATEWAY_UPDATE_DOCS=1 rewrites it).
func TestCriteriaDoc(t *testing.T) {
	const path = "../docs/app-criteria.md"
	want := CriteriaMarkdown()
	if os.Getenv("GATEWAY_UPDATE_DOCS") != "" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s differs from the catalog in apps/criteria.go: run GATEWAY_UPDATE_DOCS=1 go test ./apps -run TestCriteriaDoc", path)
	}
	for _, c := range criteria {
		if !strings.Contains(string(got), "`"+c.ID+"`") {
			t.Errorf("the doc does not name %s", c.ID)
		}
	}
}
