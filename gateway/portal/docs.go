package portal

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth"
)

// endpointFields are the discovery fields shown as the endpoints table, in
// this order, when the document has them.
var endpointFields = []string{"issuer", "authorization_endpoint", "token_endpoint", "registration_endpoint",
	"revocation_endpoint", "introspection_endpoint", "jwks_uri", "management_endpoint"}

// docsView builds the documentation from the live discovery document, the
// FHIR catalog and the lifetimes in force, so the page cannot drift from
// what clients discover.
func (h *Handler) docsView() ui.PortalDocsView {
	conf := h.deps.Discovery.SMARTConfiguration()
	base := h.cfg.BaseURL
	v := ui.PortalDocsView{
		SMARTConfigURL: h.cfg.FHIRBaseURL + "/.well-known/smart-configuration", OpenIDConfigURL: base + "/.well-known/openid-configuration",
		MetadataURL: h.cfg.FHIRBaseURL + "/metadata", FHIRBase: h.cfg.FHIRBaseURL, Issuer: stringField(conf, "issuer"),
		RegistrationURL: stringField(conf, "registration_endpoint"),
		Capabilities:    listField(conf, "capabilities"), AuthMethods: listField(conf, "token_endpoint_auth_methods_supported"),
		AssertionAlgs:    listField(conf, "token_endpoint_auth_signing_alg_values_supported"),
		ChallengeMethods: listField(conf, "code_challenge_methods_supported"), GrantTypes: listField(conf, "grant_types_supported"),
		Scopes: listField(conf, "scopes_supported"), CriteriaVersion: apps.CriteriaVersion, AutoApprove: h.cfg.AutoApprove,
	}
	for _, f := range endpointFields {
		if u := stringField(conf, f); u != "" {
			v.Endpoints = append(v.Endpoints, ui.PortalEndpoint{Name: f, URL: u})
		}
	}
	for _, t := range h.deps.Types {
		r := ui.PortalResource{Type: t.Name, Kind: "member data", Category: string(t.Category), Profiles: t.Profiles}
		if t.Kind == catalog.Shared {
			r.Kind = "shared reference data"
		}
		for _, p := range t.Params {
			r.Params = append(r.Params, p.Name)
		}
		for _, p := range t.Includes {
			r.Includes = append(r.Includes, t.Name+":"+p.Name)
		}
		if len(t.Includes) > 0 {
			r.Includes = append(r.Includes, t.Name+":*")
		}
		v.Resources = append(v.Resources, r)
	}
	lt := h.deps.Discovery.Lifetimes()
	v.AccessToken, v.RefreshToken, v.AuthCode, v.OneTimeGrant = span(lt.AccessToken), span(lt.RefreshToken), span(lt.AuthCode), span(lt.OneTimeGrant)
	v.GrantMonths = lt.GrantMonths
	for _, m := range h.cfg.Sandbox {
		v.Sandbox = append(v.Sandbox, ui.PortalMember{Username: m.Username, Name: m.DisplayName, Patient: m.PatientID})
	}
	v.SandboxPassword = h.cfg.SandboxPassword
	for _, q := range apps.Questions() {
		v.Questions = append(v.Questions, q.Text)
	}
	for _, c := range apps.Criteria() {
		v.Criteria = append(v.Criteria, ui.ConsoleCriterionDoc{ID: c.ID, Title: c.Title, Description: c.Description, Automated: c.Automated})
	}
	return v
}

func (h *Handler) serveDocs(w http.ResponseWriter, r *http.Request) {
	h.deps.UI.PortalDocs(w, r, h.devNav(w, r), h.docsView())
}

func stringField(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// listField reads a list of strings of the discovery document.
func listField(m map[string]any, k string) []string {
	switch v := m[k].(type) {
	case []string:
		return slices.Clone(v)
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// span says a lifetime in words: "1 hour", "90 days", "1 minute".
func span(d time.Duration) string {
	unit := func(n int, word string) string {
		if n == 1 {
			return "1 " + word
		}
		return fmt.Sprintf("%d %ss", n, word)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return unit(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return unit(int(d/time.Minute), "minute")
	}
	return strings.TrimSuffix(d.String(), "0s")
}

// Discovery is what the portal documents of the authorization server
// (oauth.Server).
type Discovery interface {
	SMARTConfiguration() map[string]any
	Lifetimes() oauth.Lifetimes
}
