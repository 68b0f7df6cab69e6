package apps

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// CriteriaVersion is the version of the criteria catalog. Change it
// whenever a criterion is added, removed or judged differently, so that
// the report per version shows which rules each decision was made under.
const CriteriaVersion = "2026-12.1"

// Criterion is one of the plan's objective security criteria. An
// automated criterion is checked by code at registration and on demand; a
// manual one is judged by an admin, who enters the evidence when citing it.
type Criterion struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Automated   bool   `json:"automated"`
	// check judges an app (automated criteria only): the outcome and, for a
	// failure, every problem found.
	check func(a App, env checkEnv) (Outcome, []string)
}

// Outcome is the result of checking one criterion.
type Outcome string

// The outcomes of a check.
const (
	OutcomePass Outcome = "pass"
	OutcomeFail Outcome = "fail"
	// OutcomeNotApplicable: the criterion does not concern this kind of app
	// (keys for an app without keys).
	OutcomeNotApplicable Outcome = "not_applicable"
	// OutcomeManual: an admin judges this criterion; nothing was checked.
	OutcomeManual Outcome = "manual"
)

// The criterion ids.
const (
	CritRedirectHTTPS     = "redirect-uri-https"
	CritRedirectExact     = "redirect-uri-exact"
	CritCredentialsUnique = "credentials-unique"
	CritKeysStrong        = "keys-strong"
	CritScopesPatient     = "scopes-patient-access"
	CritContact           = "contact-details"
	CritLinksHTTPS        = "links-https"
	CritNotDeniedDup      = "not-duplicate-of-denied"
	CritCompromise        = "reported-compromise"
	CritAbusiveTraffic    = "abusive-traffic"
	CritImpersonation     = "impersonation"
)

// criteria is the catalog, in the order pages and docs list it.
var criteria = []Criterion{
	{ID: CritRedirectHTTPS, Automated: true, check: checkRedirectHTTPS,
		Title: "Redirect URIs are https",
		Description: "Every redirect URI uses https. Only a native public app (no client secret or keys) may also use " +
			"http on a loopback IP address (127.0.0.1 or [::1], any port) or a private-use scheme named after a " +
			"domain in reverse order, such as com.example.app:/callback (RFC 8252 §7). `localhost` is not a loopback " +
			"address for this purpose (RFC 8252 §8.3)."},
	{ID: CritRedirectExact, Automated: true, check: checkRedirectExact,
		Title: "Redirect URIs are exact and go nowhere else",
		Description: "No redirect URI holds a wildcard (*) or a fragment (#), and none is an open redirector: its query " +
			"carries no URL and no parameter named to forward the browser (redirect, redirect_uri, url, next, return, " +
			"return_to, returnUrl, continue, goto, dest, destination, target)."},
	{ID: CritCredentialsUnique, Automated: true, check: checkCredentialsUnique,
		Title: "Credentials are not shared with another app",
		Description: "A confidential app's client secret is not the secret of any other registered app (their " +
			"SHA-256 hashes are compared), and no public key in its JWKS is registered for another app."},
	{ID: CritKeysStrong, Automated: true, check: checkKeysStrong,
		Title: "Keys are of allowed types and sizes",
		Description: "A confidential asymmetric app's JWKS holds only public RSA keys of 2048 to 8192 bits (RS384) " +
			"or EC keys on P-384 (ES384), with no private or symmetric key material, no key marked for another use " +
			"or algorithm and no duplicate key id; a jwks_uri is https. Not applicable to other apps."},
	{ID: CritScopesPatient, Automated: true, check: checkScopesPatient,
		Title: "Requested scopes exist and fit a patient-access app",
		Description: "Every requested scope is a SMART scope this gateway serves: patient-context read or search " +
			"scopes (patient/….read, patient/….rs and narrower) for a resource type the gateway serves or *, and " +
			"launch/patient, openid, fhirUser, profile, offline_access or online_access. No user/ or system/ " +
			"scopes, no write scopes, no EHR launch."},
	{ID: CritContact, Automated: true, check: checkContact,
		Title: "Contact details are present",
		Description: "The app names its developer organisation and gives a contact email address the plan can " +
			"write to about a security problem."},
	{ID: CritLinksHTTPS, Automated: true, check: checkLinksHTTPS,
		Title: "Logo and policy links are https",
		Description: "The logo URI, privacy-policy URL, terms URL and website, where given, use https. A missing " +
			"privacy policy fails no criterion: privacy practices are never a ground to refuse an app."},
	{ID: CritNotDeniedDup, Automated: true, check: checkNotDeniedDuplicate,
		Title: "Not a duplicate of a denied app",
		Description: "The app is not a new registration of an app the plan denied: it shares no redirect URI and no " +
			"public key with a denied app, and no denied app has the same name from the same developer (compared " +
			"without case, spaces or punctuation)."},
	{ID: CritCompromise,
		Title: "No reported compromise",
		Description: "Manual: the app, its servers or its credentials are not reported compromised (for example a " +
			"leaked client secret or private key, or a breach disclosed by the developer). The admin enters the report " +
			"as evidence."},
	{ID: CritAbusiveTraffic,
		Title: "No abusive traffic",
		Description: "Manual: the app's calls do not threaten the service (for example sustained request floods, " +
			"credential stuffing at the sign-in page, or scraping beyond what members granted). The admin enters " +
			"the traffic observed as evidence."},
	{ID: CritImpersonation,
		Title: "No impersonation",
		Description: "Manual: the app does not pass itself off as another organisation or as the plan (name, logo, " +
			"website) to obtain members' consent. The admin enters what was found as evidence."},
}

// Criteria returns the catalog of the current CriteriaVersion, in order.
func Criteria() []Criterion { return slices.Clone(criteria) }

// CriterionByID returns the criterion with that id.
func CriterionByID(id string) (Criterion, bool) {
	for _, c := range criteria {
		if c.ID == id {
			return c, true
		}
	}
	return Criterion{}, false
}

// CheckResult is the outcome of one criterion for one app.
type CheckResult struct {
	Criterion string  `json:"criterion"`
	Outcome   Outcome `json:"outcome"`
	// Problems says what failed, one sentence each; empty unless failed.
	Problems []string `json:"problems,omitempty"`
}

// Checks are the results of checking an app against every criterion of a
// catalog version. They are stored apart from the app (Store.PutChecks):
// the latest run only; decisions record what they relied on.
type Checks struct {
	ClientID        string        `json:"client_id"`
	CriteriaVersion string        `json:"criteria_version"`
	RanAt           time.Time     `json:"ran_at"`
	Results         []CheckResult `json:"results"`
}

// Passed reports whether every automated criterion passed (or did not
// apply).
func (c Checks) Passed() bool { return len(c.Failed()) == 0 }

// Failed returns the ids of the automated criteria that failed.
func (c Checks) Failed() []string {
	var ids []string
	for _, r := range c.Results {
		if r.Outcome == OutcomeFail {
			ids = append(ids, r.Criterion)
		}
	}
	return ids
}

// Result returns the result for one criterion.
func (c Checks) Result(id string) (CheckResult, bool) {
	for _, r := range c.Results {
		if r.Criterion == id {
			return r, true
		}
	}
	return CheckResult{}, false
}

func copyChecks(c Checks) Checks {
	c.Results = slices.Clone(c.Results)
	for i := range c.Results {
		c.Results[i].Problems = slices.Clone(c.Results[i].Problems)
	}
	return c
}

// checkEnv is what the automated checks compare an app with.
type checkEnv struct {
	// others are every other registered app.
	others []App
	// types are the FHIR resource types the gateway serves; nil allows any.
	types []string
}

// runChecks checks a against every criterion of the catalog.
func runChecks(a App, env checkEnv, now time.Time) Checks {
	c := Checks{ClientID: a.ClientID, CriteriaVersion: CriteriaVersion, RanAt: now}
	for _, cr := range criteria {
		r := CheckResult{Criterion: cr.ID, Outcome: OutcomeManual}
		if cr.check != nil {
			r.Outcome, r.Problems = cr.check(a, env)
			if r.Outcome != OutcomeFail {
				r.Problems = nil
			}
		}
		c.Results = append(c.Results, r)
	}
	return c
}

// verdict turns a list of problems into an outcome.
func verdict(problems []string) (Outcome, []string) {
	if len(problems) > 0 {
		return OutcomeFail, problems
	}
	return OutcomePass, nil
}

func checkRedirectHTTPS(a App, _ checkEnv) (Outcome, []string) {
	var p []string
	for _, raw := range a.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			p = append(p, fmt.Sprintf("redirect URI %q is not an absolute URL", raw))
			continue
		}
		switch {
		case u.Scheme == "https":
		case u.Scheme == "http" && loopbackIP(u.Hostname()):
			if !a.Public {
				p = append(p, fmt.Sprintf("redirect URI %q uses http on a loopback address, which only a native public app may do (RFC 8252 §7.3)", raw))
			}
		case u.Scheme == "http":
			p = append(p, fmt.Sprintf("redirect URI %q uses http: use https (http is allowed only on 127.0.0.1 or [::1] for native public apps)", raw))
		case privateUseScheme(u.Scheme):
			if !a.Public {
				p = append(p, fmt.Sprintf("redirect URI %q uses a private-use scheme, which only a native public app may do (RFC 8252 §7.1)", raw))
			}
		default:
			p = append(p, fmt.Sprintf("redirect URI %q uses the scheme %q: use https, or a reverse-domain private-use scheme such as com.example.app (RFC 8252 §7.1)", raw, u.Scheme))
		}
	}
	return verdict(p)
}

// loopbackIP reports whether host is a loopback IP literal (RFC 8252 §7.3;
// "localhost" is NOT RECOMMENDED by §8.3, since it may resolve elsewhere).
func loopbackIP(host string) bool { return host == "127.0.0.1" || host == "::1" }

// privateUseScheme reports whether scheme is a reverse-domain private-use
// scheme (RFC 8252 §7.1): at least one dot, not a forbidden scheme.
func privateUseScheme(scheme string) bool {
	return strings.Contains(scheme, ".") && !forbiddenScheme(scheme)
}

// redirectorParams are query parameter names that conventionally forward
// the browser elsewhere.
var redirectorParams = []string{"redirect", "redirect_uri", "redirecturi", "redirect_url", "url", "next", "return",
	"return_to", "returnto", "returnurl", "return_url", "continue", "goto", "dest", "destination", "target", "r", "u"}

func checkRedirectExact(a App, _ checkEnv) (Outcome, []string) {
	var p []string
	for _, raw := range a.RedirectURIs {
		if strings.Contains(raw, "*") {
			p = append(p, fmt.Sprintf("redirect URI %q holds a wildcard (*): redirect URIs are matched exactly", raw))
		}
		if strings.Contains(raw, "#") {
			p = append(p, fmt.Sprintf("redirect URI %q has a fragment", raw))
		}
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		for name, values := range u.Query() {
			if slices.Contains(redirectorParams, strings.ToLower(name)) {
				p = append(p, fmt.Sprintf("redirect URI %q has a %q parameter: it looks like an open redirector", raw, name))
				continue
			}
			for _, v := range values {
				if looksLikeURL(v) {
					p = append(p, fmt.Sprintf("redirect URI %q carries a URL in its %q parameter: it looks like an open redirector", raw, name))
					break
				}
			}
		}
	}
	return verdict(p)
}

// looksLikeURL reports whether v is an absolute or scheme-relative URL.
func looksLikeURL(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	if strings.HasPrefix(v, "//") {
		return true
	}
	u, err := url.Parse(v)
	return err == nil && u.Scheme != "" && (u.Host != "" || strings.HasPrefix(u.Opaque, "//"))
}

func checkCredentialsUnique(a App, env checkEnv) (Outcome, []string) {
	mine := keyMaterial(a.JWKS)
	if len(a.SecretHash) == 0 && len(mine) == 0 {
		return OutcomeNotApplicable, nil
	}
	var p []string
	for _, o := range env.others {
		if len(a.SecretHash) > 0 && len(o.SecretHash) > 0 && subtle.ConstantTimeCompare(a.SecretHash, o.SecretHash) == 1 {
			p = append(p, fmt.Sprintf("its client secret is also the secret of app %s", o.ClientID))
		}
		if shared := sharedKeys(mine, keyMaterial(o.JWKS)); shared > 0 {
			p = append(p, fmt.Sprintf("%d of its public keys are also registered for app %s", shared, o.ClientID))
		}
	}
	return verdict(p)
}

// keyMaterial returns each public key of a JWKS as a canonical string of
// its type and public parameters (kid, use and alg left out), so that the
// same key registered twice is found whatever it is called.
func keyMaterial(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if json.Unmarshal(raw, &set) != nil {
		return nil
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, strings.Join([]string{k.Kty, k.N, k.E, k.Crv, k.X, k.Y}, "|"))
	}
	return out
}

func sharedKeys(a, b []string) int {
	n := 0
	for _, k := range a {
		if slices.Contains(b, k) {
			n++
		}
	}
	return n
}

func checkKeysStrong(a App, _ checkEnv) (Outcome, []string) {
	switch {
	case len(a.JWKS) > 0:
		if err := CheckJWKS(a.JWKS); err != nil {
			return OutcomeFail, []string{strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")}
		}
		return OutcomePass, nil
	case a.JWKSURI != "":
		if u, err := url.Parse(a.JWKSURI); err != nil || u.Scheme != "https" || u.Host == "" {
			return OutcomeFail, []string{fmt.Sprintf("jwks_uri %q must be an https URL", a.JWKSURI)}
		}
		return OutcomePass, nil
	}
	return OutcomeNotApplicable, nil
}

// patientSpecials are the non-resource scopes a patient-access app may ask.
var patientSpecials = []string{"launch/patient", "openid", "fhirUser", "profile", "offline_access", "online_access"}

// patientScope matches a patient-context read scope: SMART v1 `.read`, or
// v2 `.r`, `.s` or `.rs`, optionally with a v2 search restriction.
var patientScope = regexp.MustCompile(`^patient/(\*|[A-Z][A-Za-z]{0,63})\.(read|rs|r|s)(\?[^\s]+)?$`)

// resourceScope matches any SMART resource scope shape, to tell a scope in
// the wrong context or with write access from one that is malformed.
var resourceScope = regexp.MustCompile(`^(patient|user|system)/(\*|[A-Z][A-Za-z]{0,63})\.(read|write|\*|c?r?u?d?s?)(\?[^\s]+)?$`)

func checkScopesPatient(a App, env checkEnv) (Outcome, []string) {
	var p []string
	for _, raw := range a.Scopes {
		if slices.Contains(patientSpecials, raw) {
			continue
		}
		m := patientScope.FindStringSubmatch(raw)
		switch r := resourceScope.FindStringSubmatch(raw); {
		case m != nil && m[1] != "*" && env.types != nil && !slices.Contains(env.types, m[1]):
			p = append(p, fmt.Sprintf("scope %q names the resource type %s, which this gateway does not serve", raw, m[1]))
		case m != nil:
		case r == nil || r[3] == "":
			if ctx, _, _ := strings.Cut(raw, "/"); ctx == "patient" || ctx == "user" || ctx == "system" {
				p = append(p, fmt.Sprintf("scope %q is not a valid SMART scope", raw))
			} else {
				p = append(p, fmt.Sprintf("scope %q is not offered to patient-access apps (allowed: %s and patient-context read scopes)", raw, strings.Join(patientSpecials, ", ")))
			}
		case r[1] != "patient":
			p = append(p, fmt.Sprintf("scope %q is not in the patient context: a patient-access app reads only its member's data", raw))
		default:
			p = append(p, fmt.Sprintf("scope %q asks to create, update or delete: patient access is read-only", raw))
		}
	}
	return verdict(p)
}

func checkContact(a App, _ checkEnv) (Outcome, []string) {
	var p []string
	if strings.TrimSpace(a.Developer) == "" {
		p = append(p, "the developer organisation is missing")
	}
	if strings.TrimSpace(a.ContactEmail) == "" {
		p = append(p, "the contact email is missing")
	} else if addr, err := mail.ParseAddress(a.ContactEmail); err != nil || addr.Address != a.ContactEmail {
		p = append(p, fmt.Sprintf("the contact email %q is not an email address", a.ContactEmail))
	}
	return verdict(p)
}

func checkLinksHTTPS(a App, _ checkEnv) (Outcome, []string) {
	var p []string
	for _, l := range []struct{ field, raw string }{
		{"logo_uri", a.LogoURI}, {"privacy_policy_url", a.PrivacyPolicyURL}, {"terms_url", a.TermsURL}, {"website_url", a.WebsiteURL},
	} {
		if l.raw == "" {
			continue
		}
		if u, err := url.Parse(l.raw); err != nil || u.Scheme != "https" || u.Host == "" {
			p = append(p, fmt.Sprintf("%s %q is not an https URL", l.field, l.raw))
		}
	}
	return verdict(p)
}

func checkNotDeniedDuplicate(a App, env checkEnv) (Outcome, []string) {
	var p []string
	mine := keyMaterial(a.JWKS)
	name, dev := fold(a.Name), fold(a.Developer)
	for _, o := range env.others {
		if o.Status != StatusDenied {
			continue
		}
		if name != "" && name == fold(o.Name) && dev == fold(o.Developer) {
			p = append(p, fmt.Sprintf("denied app %s has the same name from the same developer", o.ClientID))
		}
		for _, u := range a.RedirectURIs {
			if slices.Contains(o.RedirectURIs, u) {
				p = append(p, fmt.Sprintf("denied app %s has the redirect URI %q too", o.ClientID, u))
			}
		}
		if shared := sharedKeys(mine, keyMaterial(o.JWKS)); shared > 0 {
			p = append(p, fmt.Sprintf("denied app %s has %d of the same public keys", o.ClientID, shared))
		}
	}
	return verdict(p)
}

// fold returns s lower-cased without spaces or punctuation, for comparing
// names.
func fold(s string) string {
	var b bytes.Buffer
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CriteriaMarkdown renders the catalog and the attestation questions as
// the Markdown of docs/app-criteria.md; a test keeps that file equal to
// it, so the published criteria are the ones the code applies.
func CriteriaMarkdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# App security criteria, version %s\n\n", CriteriaVersion)
	b.WriteString("<!-- Generated from apps/criteria.go by `GATEWAY_UPDATE_DOCS=1 go test ./apps -run TestCriteriaDoc`; do not edit. -->\n\n")
	b.WriteString("The plan refuses or cuts off a third-party app only when it poses an unacceptable security risk, judged by " +
		"these objective, verifiable criteria, applied the same way to every app (42 CFR 422.119(e), 431.60(e), 457.730(e); " +
		"45 CFR 156.221(e)). Automated criteria are checked by the gateway when an app registers, when it is updated, when an " +
		"admin asks and when it is approved; manual criteria are judged by an admin, who records the evidence. A denial or " +
		"suspension cites one or more criterion ids and the evidence; an approval records that every automated criterion " +
		"passed, or why an admin overrode one. Every decision records the version of this catalog it was made under.\n\n")
	b.WriteString("Privacy practices are not a criterion: a missing privacy policy or attestation never refuses an app.\n\n")
	b.WriteString("| id | kind | criterion |\n|---|---|---|\n")
	for _, c := range criteria {
		kind := "manual"
		if c.Automated {
			kind = "automated"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.ID, kind, c.Title)
	}
	for _, c := range criteria {
		fmt.Fprintf(&b, "\n## `%s`: %s\n\n%s\n", c.ID, c.Title, c.Description)
	}
	b.WriteString("\n## Privacy attestation\n\nApps are asked these questions, each answered yes or no, with who attested and when. " +
		"Members see the answers in the same words for every app; an app that did not attest gets an extra notice. The answers " +
		"never refuse an app. When the app's privacy policy or terms change after it attested, the attestation is marked stale.\n\n")
	for _, q := range questions {
		fmt.Fprintf(&b, "- `%s`: %s\n", q.ID, q.Text)
	}
	return b.String()
}
