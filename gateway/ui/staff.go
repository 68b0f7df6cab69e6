package ui

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// The staff areas: the plan's admin console and the developer portal. Their
// pages share the member pages' layout and stylesheet, in English only (the
// plan's staff and app developers read the specifications in English), with
// no language switch.
const (
	AreaConsole = "console"
	AreaPortal  = "portal"
)

// Where the areas start.
const (
	PathConsole = "/console/"
	PathPortal  = "/developers/"
)

// StaffNav is the signed-in staff member's navigation in the console.
type StaffNav struct {
	Who  string // how the person is shown: the account name or provider subject
	Role string // "admin" or "reviewer"
	CSRF string
}

// DevNav is the portal's navigation; Email is empty when nobody is signed in.
type DevNav struct {
	Email string
	CSRF  string
}

// consolePages and portalPages are the templates of the staff areas.
var (
	consolePages = []string{"console-signin", "console-queue", "console-registry", "console-app", "console-report", "console-message"}
	portalPages  = []string{"portal-docs", "portal-message", "portal-signin", "portal-apps", "portal-register", "portal-app"}
)

func (u *UI) renderStaff(w http.ResponseWriter, r *http.Request, status int, name string, main any, staff *StaffNav) {
	u.renderPage(w, r, status, page{Page: name, Lang: DefaultLang, Brand: &u.cfg.Brand, GuideURL: u.GuideURL(),
		Main: main, Area: AreaConsole, Staff: staff})
}

func (u *UI) renderPortal(w http.ResponseWriter, r *http.Request, status int, name string, main any, dev DevNav) {
	u.renderPage(w, r, status, page{Page: name, Lang: DefaultLang, Brand: &u.cfg.Brand, GuideURL: u.GuideURL(),
		Main: main, Area: AreaPortal, Dev: &dev})
}

// ConsoleSignInView is the console's sign-in page.
type ConsoleSignInView struct {
	CSRF     string
	ReturnTo string
	Username string
	Error    string // why the last attempt failed, or ""
	Local    bool   // offer the local accounts' form (demo)
	PlanURL  string // "" hides "Sign in with {plan}"
}

// ConsoleSignIn renders the console's sign-in page.
func (u *UI) ConsoleSignIn(w http.ResponseWriter, r *http.Request, status int, v ConsoleSignInView) {
	u.renderStaff(w, r, status, "console-signin", v, nil)
}

// ConsoleMessageView is a console page that only says something: a
// refusal (no role, a stale form) or a failure, with a way on.
type ConsoleMessageView struct {
	Title   string
	Message string
	// SignIn offers the sign-in page; otherwise the queue.
	SignIn bool
}

// ConsoleMessage renders a console message page with status.
func (u *UI) ConsoleMessage(w http.ResponseWriter, r *http.Request, status int, staff *StaffNav, v ConsoleMessageView) {
	u.renderStaff(w, r, status, "console-message", v, staff)
}

// ConsoleAppRow is one app in the queue and the registry.
type ConsoleAppRow struct {
	ClientID     string
	Name         string
	Developer    string
	Status       string
	ClientType   string
	Attestation  string // "attested", "partial", "declined", "none"
	Registered   time.Time
	ChecksRun    bool
	ChecksFailed []string // automated criteria that failed
	// PolicyChanged is when the policy watch last saw the privacy policy
	// or terms change (zero: never); Stale: the attestation predates it.
	PolicyChanged time.Time
	Stale         bool
}

// ConsoleQueueView is the review queue: pending apps, oldest first, and
// the apps whose privacy policy or terms changed.
type ConsoleQueueView struct {
	Pending        []ConsoleAppRow
	PolicyChanged  []ConsoleAppRow
	CriteriaVer    string
	AutoApprove    bool
	CanDecide      bool
	StatusCounts   []StatusCount
	RegistryFilter string // link to the registry filtered on pending
}

// StatusCount is how many apps have one status.
type StatusCount struct {
	Status string
	Count  int
}

// ConsoleQueue renders the review queue.
func (u *UI) ConsoleQueue(w http.ResponseWriter, r *http.Request, staff *StaffNav, v ConsoleQueueView) {
	u.renderStaff(w, r, http.StatusOK, "console-queue", v, staff)
}

// ConsoleRegistryView is every app, filtered by status and searched.
type ConsoleRegistryView struct {
	Apps     []ConsoleAppRow
	Status   string // the status filter, "" for all
	Query    string // the search text
	Statuses []string
	Total    int    // apps before filtering
	CSVURL   string // the same selection as CSV
}

// ConsoleRegistry renders the registry.
func (u *UI) ConsoleRegistry(w http.ResponseWriter, r *http.Request, staff *StaffNav, v ConsoleRegistryView) {
	u.renderStaff(w, r, http.StatusOK, "console-registry", v, staff)
}

// ConsoleApp is what the app detail page shows of the registration.
type ConsoleApp struct {
	ClientID         string
	Name             string
	Description      string
	Developer        string
	ContactEmail     string
	ContactPhone     string
	WebsiteURL       string
	PrivacyPolicyURL string
	TermsURL         string
	LogoURI          string
	LogoURL          string // the stored copy, served by the gateway
	WebhookURL       string
	RedirectURIs     []string
	ClientType       string
	AuthMethod       string
	JWKSURI          string
	HasJWKS          bool
	Scopes           []string
	Status           string
	StatusReason     string
	Registered       time.Time
	RegisteredBy     string
	Updated          time.Time
}

// ConsoleCheck is the result of one criterion's automated check.
type ConsoleCheck struct {
	ID       string
	Title    string
	Outcome  string // "pass", "fail", "manual"…
	Problems []string
}

// ConsoleAnswer is one attestation question and its answer.
type ConsoleAnswer struct {
	Question string
	Answer   string // "yes", "no" or "not answered"
}

// ConsoleAttestation is the app's privacy attestation.
type ConsoleAttestation struct {
	Status     string
	By         string
	At         time.Time
	StaleSince time.Time
	Answers    []ConsoleAnswer
}

// ConsoleHistoryRow is one entry of an app's history (or of the report).
type ConsoleHistoryRow struct {
	At              time.Time
	ClientID        string
	App             string
	Actor           string
	Action          string
	From, To        string
	CriteriaVersion string
	Criteria        []string
	Evidence        string
	ChecksPassed    bool
	Override        string
	Note            string
}

// ConsoleCriterion is a criterion an admin may cite.
type ConsoleCriterion struct {
	ID        string
	Title     string
	Automated bool
}

// ConsoleAppView is the app detail page.
type ConsoleAppView struct {
	CSRF        string
	App         ConsoleApp
	Checks      []ConsoleCheck
	ChecksAt    time.Time
	ChecksVer   string
	Failed      []string // ids of failed automated criteria
	Attestation ConsoleAttestation
	History     []ConsoleHistoryRow
	LiveMembers int
	LastCall    time.Time
	// Actions are the decisions the app's status allows ("approve",
	// "deny", "suspend", "reinstate"); empty for a reviewer.
	Actions   []string
	CanDecide bool
	Criteria  []ConsoleCriterion
	Notice    string // what the last action did
	Error     string // why the last action was refused
	// Form keeps what the admin typed when a decision is refused.
	Form DecisionForm
}

// DecisionForm is what an admin typed into a decision form.
type DecisionForm struct {
	Action   string
	Criteria []string
	Evidence string
	Override string
	Note     string
}

// Cites reports whether the form cited criterion id.
func (f DecisionForm) Cites(id string) bool {
	for _, c := range f.Criteria {
		if c == id {
			return true
		}
	}
	return false
}

// ConsoleAppPage renders the app detail page with status (200, or 400/409
// when a decision was refused).
func (u *UI) ConsoleAppPage(w http.ResponseWriter, r *http.Request, status int, staff *StaffNav, v ConsoleAppView) {
	u.renderStaff(w, r, status, "console-app", v, staff)
}

// ConsoleReportVersion is every decision made under one criteria version.
type ConsoleReportVersion struct {
	Version   string
	Decisions []ConsoleHistoryRow
	Counts    []StatusCount // decisions per action
}

// ConsoleReportView is the decisions report, per criteria version.
type ConsoleReportView struct {
	Versions []ConsoleReportVersion
	Criteria []ConsoleCriterion // the current catalog
	Current  string
}

// ConsoleReport renders the decisions report.
func (u *UI) ConsoleReport(w http.ResponseWriter, r *http.Request, staff *StaffNav, v ConsoleReportView) {
	u.renderStaff(w, r, http.StatusOK, "console-report", v, staff)
}

// checkStaff renders every console and portal page with sample data.
func (u *UI) checkStaff(r *http.Request) []error {
	now := time.Date(2025, 3, 5, 14, 5, 0, 0, time.UTC)
	row := ConsoleAppRow{ClientID: "c", Name: "App", Developer: "Dev", Status: "pending", ClientType: "public", Attestation: "attested",
		Registered: now, ChecksRun: true, ChecksFailed: []string{"x"}, PolicyChanged: now, Stale: true}
	hist := ConsoleHistoryRow{At: now, ClientID: "c", App: "App", Actor: "admin:x", Action: "suspend", From: "approved", To: "suspended",
		CriteriaVersion: "1", Criteria: []string{"x"}, Evidence: "e", ChecksPassed: true, Override: "o", Note: "n"}
	crit := []ConsoleCriterion{{ID: "x", Title: "X", Automated: true}, {ID: "y", Title: "Y"}}
	staff := &StaffNav{Who: "w", Role: "admin", CSRF: "c"}
	views := []struct {
		name string
		main any
	}{
		{"console-signin", ConsoleSignInView{CSRF: "c", Local: true, PlanURL: "/p", Error: "e"}},
		{"console-signin", ConsoleSignInView{}},
		{"console-message", ConsoleMessageView{Title: "t", Message: "m", SignIn: true}},
		{"console-queue", ConsoleQueueView{Pending: []ConsoleAppRow{row, {}}, PolicyChanged: []ConsoleAppRow{row}, AutoApprove: true,
			StatusCounts: []StatusCount{{"pending", 1}}}},
		{"console-queue", ConsoleQueueView{CanDecide: true}},
		{"console-registry", ConsoleRegistryView{Apps: []ConsoleAppRow{row}, Status: "pending", Statuses: []string{"pending"}}},
		{"console-registry", ConsoleRegistryView{}},
		{"console-report", ConsoleReportView{Versions: []ConsoleReportVersion{{Version: "1", Decisions: []ConsoleHistoryRow{hist},
			Counts: []StatusCount{{"approve", 1}}}}, Criteria: crit}},
		{"console-report", ConsoleReportView{}},
		{"console-app", ConsoleAppView{App: ConsoleApp{ClientID: "c", Name: "App", RedirectURIs: []string{"https://a"}, Scopes: []string{"openid"},
			LogoURL: "/l", Description: "d", LogoURI: "https://l", WebhookURL: "https://w", JWKSURI: "https://j", HasJWKS: true, RegisteredBy: "x"},
			Checks: []ConsoleCheck{{ID: "x", Outcome: "fail", Problems: []string{"p"}}, {ID: "y", Outcome: "pass"}}, ChecksAt: now,
			Failed: []string{"x"}, Attestation: ConsoleAttestation{Status: "attested", By: "b", At: now, StaleSince: now,
				Answers: []ConsoleAnswer{{"q", "yes"}}}, History: []ConsoleHistoryRow{hist}, LastCall: now, CanDecide: true,
			Actions: []string{"approve", "deny", "suspend", "reinstate"}, Criteria: crit, Notice: "n", Error: "e",
			Form: DecisionForm{Action: "deny", Criteria: []string{"x"}}}},
		{"console-app", ConsoleAppView{CanDecide: true}},
		{"console-app", ConsoleAppView{}},
	}
	var errs []error
	for _, v := range views {
		p := page{Page: v.name, Lang: DefaultLang, Brand: &u.cfg.Brand, Main: v.main, Area: AreaConsole, Staff: staff}
		if err := u.executePage(io.Discard, r, p); err != nil {
			errs = append(errs, fmt.Errorf("ui: %s page: %w", v.name, err))
		}
	}
	return append(errs, u.checkPortal(r)...)
}
