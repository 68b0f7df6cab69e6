package oauth

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth/smart"
)

// offlineChoice is the consent checkbox for offline_access.
const offlineChoice = "offline_access"

// consent is the consent decision to make: the scopes the app may get
// (requested ∩ registered), grouped into the choices the member sees.
type consent struct {
	requested []string // narrowed requested scopes
	always    []string // context scopes granted with any data (openid, fhirUser, launch/patient)
	choices   []choice // one checkbox per data category
	types     []string // the resource types a patient/* scope expands to, in order
}

// choice is one checkbox on the consent page.
type choice struct {
	Value string // the form value: a resource type, or offline_access
	Label string // plain words
}

// buildConsent groups the scopes fosite accepted into consent choices.
func (s *Server) buildConsent(ar fosite.AuthorizeRequester) consent {
	c := consent{requested: ar.GetRequestedScopes()}
	for _, t := range s.deps.ResourceTypes {
		c.types = append(c.types, t.Name)
	}
	seen := map[string]bool{}
	addChoice := func(value, label string) {
		if !seen[value] {
			seen[value] = true
			c.choices = append(c.choices, choice{Value: value, Label: label})
		}
	}
	for _, raw := range c.requested {
		sc, err := smart.Parse(raw)
		switch {
		case err != nil:
			continue
		case raw == offlineChoice:
			addChoice(offlineChoice, s.describe(raw))
		case !sc.IsResource():
			c.always = append(c.always, raw)
		case sc.ResourceType == "*":
			for _, t := range c.types {
				addChoice(t, s.describe(expand(raw, t)))
			}
		default:
			addChoice(sc.ResourceType, s.describe(raw))
		}
	}
	// Data choices first, the offline choice last.
	slices.SortStableFunc(c.choices, func(a, b choice) int {
		return boolInt(a.Value == offlineChoice) - boolInt(b.Value == offlineChoice)
	})
	return c
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// expand turns a patient/* scope into the same scope for one type.
func expand(raw, resourceType string) string {
	return strings.Replace(raw, "/*.", "/"+resourceType+".", 1)
}

// granted returns the scopes to grant for the boxes the member ticked:
// requested ∩ registered ∩ chosen. A patient/* scope is kept whole only when
// every type was chosen; otherwise it becomes one scope per chosen type.
func (c consent) granted(chosen []string) []string {
	pick := func(v string) bool { return slices.Contains(chosen, v) }
	out := slices.Clone(c.always)
	for _, raw := range c.requested {
		sc, err := smart.Parse(raw)
		switch {
		case err != nil || !sc.IsResource():
			if raw == offlineChoice && pick(offlineChoice) {
				out = append(out, raw)
			}
		case sc.ResourceType != "*":
			if pick(sc.ResourceType) {
				out = append(out, raw)
			}
		case allChosen(c.types, chosen):
			out = append(out, raw)
		default:
			for _, t := range c.types {
				if pick(t) {
					out = append(out, expand(raw, t))
				}
			}
		}
	}
	return out
}

func allChosen(types, chosen []string) bool {
	for _, t := range types {
		if !slices.Contains(chosen, t) {
			return false
		}
	}
	return len(types) > 0
}

// newMemberSession builds the session stored with the code and every token
// of the grant: the member, their Patient and the id_token claims.
func (s *Server) newMemberSession(ar fosite.AuthorizeRequester, m Member) *Session {
	now := s.now().UTC()
	sess := NewSession()
	sess.Member = m.Username
	sess.Patient = m.PatientID
	sess.FHIRUser = s.cfg.FHIRBaseURL + "/Patient/" + m.PatientID
	sess.GrantID = ar.GetID()
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

// consentPage is the data of consent.html. Every field the warning needs is
// required: the template cannot render without the app's name and status.
type consentPage struct {
	CSRF        string
	Action      string
	App         apps.App
	Attestation string
	Member      string
	Choices     []choice
	Always      []string
	Expires     string
}

func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, app apps.App, m Member, c consent) {
	var always []string
	for _, sc := range c.always {
		if d := s.describe(sc); !slices.Contains(always, d) {
			always = append(always, d)
		}
	}
	s.render(w, http.StatusOK, "consent.html", consentPage{
		CSRF: s.deps.CSRF.Token(w, r), Action: r.URL.RequestURI(), App: app,
		Attestation: attestationText(app), Member: m.DisplayName, Choices: c.choices, Always: always,
		Expires: s.now().Add(s.cfg.RefreshTokenLifespan).Format(time.DateOnly),
	})
}

// attestationText says the same thing, in the same words, for every app.
func attestationText(a apps.App) string {
	switch a.Attestation {
	case apps.AttestationAttested:
		return a.Name + " told your health plan that it follows the privacy practices the plan asks of apps."
	case apps.AttestationDeclined:
		return a.Name + " told your health plan that it does NOT follow all of the privacy practices the plan asks of apps."
	default:
		return a.Name + " has not told your health plan whether it follows the privacy practices the plan asks of apps."
	}
}
