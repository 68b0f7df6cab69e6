package ui

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// PortalEndpoint is one endpoint of the SMART configuration.
type PortalEndpoint struct {
	Name string // the discovery field ("token_endpoint")
	URL  string
}

// PortalResource is one FHIR type the API serves.
type PortalResource struct {
	Type     string
	Kind     string // "member data" or "shared reference data"
	Category string
	Params   []string
	Includes []string
	Profiles []string
}

// PortalMember is a sandbox (demo) member.
type PortalMember struct {
	Username, Name, Patient string
}

// PortalDocsView is the developer documentation, built from the live
// configuration: the discovery document, the FHIR catalog, the lifetimes.
type PortalDocsView struct {
	SMARTConfigURL   string
	OpenIDConfigURL  string
	MetadataURL      string
	FHIRBase         string
	Issuer           string
	RegistrationURL  string // RFC 7591 endpoint from discovery, or ""
	Endpoints        []PortalEndpoint
	Capabilities     []string
	AuthMethods      []string
	AssertionAlgs    []string
	ChallengeMethods []string
	GrantTypes       []string
	Scopes           []string
	Resources        []PortalResource
	AccessToken      string
	RefreshToken     string
	AuthCode         string
	OneTimeGrant     string
	GrantMonths      int
	Sandbox          []PortalMember
	SandboxPassword  string // shown in demo mode only
	Questions        []string
	Criteria         []ConsoleCriterionDoc
	CriteriaVersion  string
	AutoApprove      bool
}

// ConsoleCriterionDoc is a criterion as the portal documents it.
type ConsoleCriterionDoc struct {
	ID, Title, Description string
	Automated              bool
}

// PortalDocs renders the developer documentation.
func (u *UI) PortalDocs(w http.ResponseWriter, r *http.Request, dev DevNav, v PortalDocsView) {
	u.renderPortal(w, r, http.StatusOK, "portal-docs", v, dev)
}

// PortalMessageView is a portal page that only says something.
type PortalMessageView struct {
	Title, Message string
	SignIn         bool
}

// PortalMessage renders a portal message page with status.
func (u *UI) PortalMessage(w http.ResponseWriter, r *http.Request, status int, dev DevNav, v PortalMessageView) {
	u.renderPortal(w, r, status, "portal-message", v, dev)
}

func (u *UI) checkPortal(r *http.Request) []error {
	now := time.Date(2025, 3, 5, 14, 5, 0, 0, time.UTC)
	views := []struct {
		name string
		main any
	}{
		{"portal-docs", PortalDocsView{RegistrationURL: "/r", Endpoints: []PortalEndpoint{{"a", "b"}}, Capabilities: []string{"c"},
			Scopes: []string{"s"}, Resources: []PortalResource{{Type: "T", Params: []string{"p"}, Includes: []string{"i"}, Profiles: []string{"x"}}},
			Sandbox: []PortalMember{{"u", "n", "p"}}, SandboxPassword: "pw", Questions: []string{"q"},
			Criteria: []ConsoleCriterionDoc{{ID: "a", Automated: true}, {ID: "b"}}, AutoApprove: true}},
		{"portal-docs", PortalDocsView{}},
		{"portal-message", PortalMessageView{Title: "t", Message: "m", SignIn: true}},
		{"portal-signin", PortalSignInView{CSRF: "c", SignInEmail: "e", SignInError: "x", SignUpErrors: []string{"p"}}},
		{"portal-apps", PortalAppsView{Apps: []PortalAppRow{{ClientID: "c", Name: "n", Status: "pending", Registered: now}}}},
		{"portal-apps", PortalAppsView{}},
		{"portal-register", PortalRegisterView{CSRF: "c", Form: PortalRegistration{ClientType: "public", Answers: map[string]string{"q": "yes"}},
			Questions: []PortalQuestion{{"q", "Q?"}, {"r", "R?"}}, Errors: []string{"e"}}},
		{"portal-app", PortalAppView{ClientID: "c", Name: "n", Status: "denied", RedirectURIs: []string{"https://a"}, Scopes: []string{"s"},
			Registered: now, Checks: []ConsoleCheck{{ID: "x", Outcome: "fail", Problems: []string{"p"}}}, Decisions: []PortalDecision{
				{At: now, Action: "deny", To: "denied", Criteria: []ConsoleCriterion{{ID: "x", Title: "X"}}, Note: "n"},
				{At: now, Action: "approve", To: "approved", ChecksPassed: true}}, JustRegistered: true, Secret: "s"}},
		{"portal-app", PortalAppView{}},
	}
	var errs []error
	for _, v := range views {
		for _, dev := range []DevNav{{}, {Email: "e", CSRF: "c"}} {
			p := page{Page: v.name, Lang: DefaultLang, Brand: &u.cfg.Brand, Main: v.main, Area: AreaPortal, Dev: &dev}
			if err := u.executePage(io.Discard, r, p); err != nil {
				errs = append(errs, fmt.Errorf("ui: %s page: %w", v.name, err))
			}
		}
	}
	return errs
}

// PortalSignInView is the sign-in and sign-up page.
type PortalSignInView struct {
	CSRF        string
	MinPassword int
	// Sign-in: the address typed and why it failed.
	SignInEmail string
	SignInError string
	// Sign-up: what was typed and every problem.
	Email, Name, Organisation string
	SignUpErrors              []string
}

// PortalSignIn renders the sign-in and sign-up page with status.
func (u *UI) PortalSignIn(w http.ResponseWriter, r *http.Request, status int, dev DevNav, v PortalSignInView) {
	u.renderPortal(w, r, status, "portal-signin", v, dev)
}

// PortalAppRow is one of the developer's apps.
type PortalAppRow struct {
	ClientID, Name, Status string
	Registered             time.Time
}

// PortalAppsView is the developer's app list.
type PortalAppsView struct {
	Apps []PortalAppRow
}

// PortalApps renders the developer's app list.
func (u *UI) PortalApps(w http.ResponseWriter, r *http.Request, dev DevNav, v PortalAppsView) {
	u.renderPortal(w, r, http.StatusOK, "portal-apps", v, dev)
}

// PortalQuestion is one attestation question.
type PortalQuestion struct {
	ID, Text string
}

// PortalRegistration is what the registration form holds.
type PortalRegistration struct {
	Name, Description, Developer, ContactEmail, ContactPhone    string
	WebsiteURL, PrivacyPolicyURL, TermsURL, LogoURI, WebhookURL string
	RedirectURIs                                                string // one per line
	ClientType                                                  string // "public", "confidential-symmetric", "confidential-asymmetric"
	JWKSURI, JWKS                                               string
	Scopes                                                      string
	AttestedBy                                                  string
	Answers                                                     map[string]string // question id → "yes", "no"
}

// PortalRegisterView is the registration form.
type PortalRegisterView struct {
	CSRF      string
	Form      PortalRegistration
	Questions []PortalQuestion
	Errors    []string
}

// PortalRegister renders the registration form with status (200, or 400
// with the problems).
func (u *UI) PortalRegister(w http.ResponseWriter, r *http.Request, status int, dev DevNav, v PortalRegisterView) {
	u.renderPortal(w, r, status, "portal-register", v, dev)
}

// PortalDecision is a decision about the developer's app, as they see it.
type PortalDecision struct {
	At           time.Time
	Action       string
	To           string
	Criteria     []ConsoleCriterion
	ChecksPassed bool
	Note         string
}

// PortalAppView is one of the developer's apps.
type PortalAppView struct {
	ClientID     string
	Name         string
	Status       string
	ClientType   string
	RedirectURIs []string
	Scopes       []string
	Registered   time.Time
	Attestation  string
	Checks       []ConsoleCheck
	Decisions    []PortalDecision
	// Registered and Secret: just registered; the client secret (of a
	// confidential symmetric app) is shown this once.
	JustRegistered bool
	Secret         string
}

// PortalApp renders one of the developer's apps with status.
func (u *UI) PortalApp(w http.ResponseWriter, r *http.Request, status int, dev DevNav, v PortalAppView) {
	u.renderPortal(w, r, status, "portal-app", v, dev)
}
