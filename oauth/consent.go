package oauth

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth/smart"
)

// offlineScope is the SMART scope that asks for a refresh token.
const offlineScope = "offline_access"

// consent is the consent decision to make: the scopes the app may get
// (requested ∩ registered), the data categories they reach, and whether
// the app asked to keep access.
type consent struct {
	requested  []string            // narrowed requested scopes
	always     []string            // context scopes granted with any data (openid, fhirUser, launch/patient)
	categories []string            // the categories offered, in page order
	types      map[string][]string // category → the served types the request reaches in it
	only       map[string][]string // category → the search restrictions of restricted scopes in it
	offline    bool                // the app asked for offline_access
}

// decision is what the member chose on the consent page.
type decision struct {
	scopes    []string // explicit types only: never a wildcard that would grow with the catalog
	sensitive bool     // share records the plan labels sensitive too
	oneTime   bool     // one hour, no refresh token
}

// buildConsent groups the scopes fosite accepted into the categories the
// member ticks or unticks.
func (s *Server) buildConsent(ar fosite.AuthorizeRequester) consent {
	c := consent{requested: ar.GetRequestedScopes(), types: map[string][]string{}, only: map[string][]string{}}
	reach := func(t string) {
		rt, ok := s.types[t]
		if ok && !slices.Contains(c.types[rt.Category], t) {
			c.types[rt.Category] = append(c.types[rt.Category], t)
		}
	}
	for _, raw := range c.requested {
		sc, err := smart.Parse(raw)
		switch {
		case err != nil:
		case raw == offlineScope:
			c.offline = true
		case !sc.IsResource():
			c.always = append(c.always, raw)
		case sc.ResourceType == "*":
			for _, t := range s.deps.ResourceTypes {
				reach(t.Name)
			}
		default:
			reach(sc.ResourceType)
			if rt, ok := s.types[sc.ResourceType]; ok && sc.Restricted() {
				c.only[rt.Category] = append(c.only[rt.Category], restrictionText(sc))
			}
		}
	}
	for _, cat := range s.categories() {
		if len(c.types[cat]) > 0 {
			c.categories = append(c.categories, cat)
		}
	}
	return c
}

// categories is the order the consent page lists categories in: the
// configured order, then any other category of a served type.
func (s *Server) categories() []string {
	out := slices.Clone(s.deps.Categories)
	for _, t := range s.deps.ResourceTypes {
		if !slices.Contains(out, t.Category) {
			out = append(out, t.Category)
		}
	}
	return out
}

// restrictionText is a scope's search restriction as "k=v, k=v".
func restrictionText(sc smart.Scope) string {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range sc.Query {
			if !yield(k) {
				return
			}
		}
	})
	var parts []string
	for _, k := range keys {
		for _, v := range sc.Query[k] {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ", ")
}

// decide turns the consent form into the grant: requested ∩ registered ∩
// chosen, with every resource scope naming its type. A patient/* scope
// becomes one scope per served type of a ticked category, so the grant
// never grows when the plan serves a new type. offline_access is kept
// only for a time-limited grant.
func (s *Server) decide(c consent, form url.Values) decision {
	chosen := map[string]bool{}
	for _, v := range form["share"] {
		if slices.Contains(c.categories, v) {
			chosen[v] = true
		}
	}
	d := decision{oneTime: !c.offline || form.Get("duration") != "limited"}
	d.sensitive = s.cfg.OfferSensitive && form.Get("sensitive") == "yes" && len(chosen) > 0
	add := func(sc string) {
		if !slices.Contains(d.scopes, sc) {
			d.scopes = append(d.scopes, sc)
		}
	}
	for _, raw := range c.always {
		add(raw)
	}
	if !d.oneTime {
		add(offlineScope)
	}
	for _, raw := range c.requested {
		sc, err := smart.Parse(raw)
		if err != nil || !sc.IsResource() {
			continue
		}
		for _, t := range s.deps.ResourceTypes {
			if chosen[t.Category] && (sc.ResourceType == "*" || sc.ResourceType == t.Name) {
				add(strings.Replace(raw, "/"+sc.ResourceType+".", "/"+t.Name+".", 1))
			}
		}
	}
	return d
}

// auditText records the decision for the audit trail: the scopes granted,
// the sensitive-data choice and when the grant ends.
func (d decision) auditText(end time.Time) string {
	sensitive := "no"
	if d.sensitive {
		sensitive = "yes"
	}
	return strings.Join(d.scopes, " ") + "; sensitive: " + sensitive + "; ends: " + end.UTC().Format(time.RFC3339)
}

// newMemberSession builds the session stored with the code and every token
// of the grant: the member, their Patient, the grant's end and
// sensitive-data choice, and the id_token claims.
func (s *Server) newMemberSession(ar fosite.AuthorizeRequester, m Member, g apps.Grant) *Session {
	now := s.now().UTC()
	sess := NewSession()
	sess.Member = m.Username
	sess.Patient = m.PatientID
	sess.FHIRUser = s.cfg.FHIRBaseURL + "/Patient/" + m.PatientID
	sess.GrantID = ar.GetID()
	sess.GrantEnds = g.ExpiresAt
	sess.Sensitive = g.Sensitive
	// The app learns a pairwise subject, never the login name (no Username:
	// introspection would show it).
	sess.Subject = pairwiseSubject(s.subjectKey, ar.GetClient().GetID(), sess.Member)
	extra := map[string]interface{}{}
	if ar.GetGrantedScopes().Has("fhirUser") {
		extra["fhirUser"] = sess.FHIRUser
	}
	if ar.GetGrantedScopes().Has("profile") {
		extra["name"] = m.DisplayName
	}
	sess.Claims = &jwt.IDTokenClaims{Subject: sess.Subject, Issuer: s.cfg.Issuer, RequestedAt: now, AuthTime: now, Extra: extra}
	sess.Headers = &jwt.Headers{Extra: map[string]interface{}{"kid": s.kid}}
	return sess
}

// renderConsent shows the consent page: who made the app, the warnings,
// the categories to share, the sensitive-data opt-in and how long access
// lasts.
func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, app apps.App, m Member, c consent) {
	v := ui.ConsentView{
		CSRF: s.deps.CSRF.Token(w, r), Action: r.URL.RequestURI(), Member: m.DisplayName,
		App:            consentApp(app),
		OfferSensitive: s.cfg.OfferSensitive && len(c.categories) > 0,
		OneTimeOnly:    !c.offline,
		Ends:           s.grantEnd(s.now(), false),
		IdleDays:       s.idleDays(),
		Identity:       len(c.always) > 0,
	}
	for _, cat := range c.categories {
		v.Categories = append(v.Categories, ui.ConsentCategory{ID: cat, Types: c.types[cat], Only: c.only[cat]})
	}
	s.deps.UI.Consent(w, r, v)
}

// consentApp is what the consent page says of the app, the same way for
// every app: who makes it, its links, whether it attested and to what, and
// whether its privacy policy changed.
func consentApp(app apps.App) ui.ConsentApp {
	c := ui.ConsentApp{Name: app.Name, Developer: app.Developer, Website: app.WebsiteURL, LogoURL: appLogoURL(app),
		PrivacyPolicyURL: app.PrivacyPolicyURL, TermsURL: app.TermsURL, Attestation: string(app.Attestation.Status()),
		Stale: app.Attestation.Stale(), PolicyChanged: app.PolicyChangedAt}
	if app.Attestation.Status() != apps.AttestationNone {
		for _, q := range ui.AttestationQuestions {
			c.Answers = append(c.Answers, ui.AttestationAnswer{Question: q, Answer: app.Attestation.Answer(q)})
		}
	}
	return c
}

// idleDays is how long an app may go without refreshing before its access
// ends early: the refresh token's life, in whole days.
func (s *Server) idleDays() int { return int(s.cfg.RefreshTokenLifespan / (24 * time.Hour)) }
