package ui

import "time"

// Msg is a message from the catalogs with its arguments (name, value
// pairs), for views that show one of several texts.
type Msg struct {
	Key  string
	Args []any
}

// M builds a Msg.
func M(key string, args ...any) *Msg { return &Msg{Key: key, Args: args} }

// Messages the pages that show a Msg accept; each is rendered in every
// language at start-up.
const (
	MsgLoginMismatch        = "login.error.mismatch"         // no args
	MsgLoginThrottled       = "login.error.throttled"        // "minutes", n (2 or more)
	MsgLoginThrottledMinute = "login.error.throttled_minute" // no args
	MsgAppsRevoked          = "apps.revoked"                 // "app", name
	MsgAppsCutOff           = "apps.cut_off"                 // "plan", name
	MsgAppsEnded            = "apps.ended"                   // no args
)

// LoginView is the sign-in page.
type LoginView struct {
	CSRF     string
	ReturnTo string // a local path to go back to after signing in
	Username string // kept after a failed attempt
	Error    *Msg   // MsgLoginMismatch, MsgLoginThrottled or nil
	Local    bool   // offer the password form
	PlanURL  string // "" hides "Sign in with {plan}"
}

// ConsentApp is what the consent page says about the app.
type ConsentApp struct {
	Name             string // required
	Developer        string
	Website          string
	LogoURL          string // a path on this server, or ""
	PrivacyPolicyURL string
	TermsURL         string
	// Attestation is "attested", "declined" or "none": anything but
	// "attested" shows the second, stronger warning; "none" adds a link to
	// the guide for choosing an app.
	Attestation string
	// Answers are the app's answers to each of AttestationQuestions, in
	// that order; empty when it did not attest.
	Answers []AttestationAnswer
	// Stale says the app's privacy policy or terms changed after it
	// attested.
	Stale bool
	// PolicyChanged is when the app's privacy policy or terms were last
	// seen to change (zero: never).
	PolicyChanged time.Time
}

// AttestationQuestions are the ids of the privacy questions apps answer
// (apps.Questions), in the order the consent page lists them; each has
// the member's wording in the catalogs as "consent.attest.q.<id>".
var AttestationQuestions = []string{"public_policy", "states_uses", "express_consent", "device_data", "end_access"}

// AttestationAnswer is an app's answer to one question: "yes", "no" or ""
// when it did not answer.
type AttestationAnswer struct {
	Question string
	Answer   string
}

// ConsentCategory is one data category the app asked for.
type ConsentCategory struct {
	ID    string   // a catalog category ("claims"); also the checkbox value
	Types []string // the FHIR types it reaches, named for members in the fine print
	Only  []string // search restrictions the app's scopes limit it to ("type=…|pharmacy")
}

// ConsentView is the consent page. Its template always shows the HIPAA
// warning and the attestation; New refuses to start if it cannot.
type ConsentView struct {
	CSRF       string
	Action     string // where the form posts (the authorization request itself)
	App        ConsentApp
	Member     string // the member's name, or "" (never required)
	Categories []ConsentCategory
	// OfferSensitive shows the separate, unticked opt-in for records the
	// plan labels sensitive.
	OfferSensitive bool
	// OneTimeOnly: the app did not ask to keep access (no offline_access),
	// so the grant can only be one-time. Otherwise the member chooses.
	OneTimeOnly bool
	// Ends is when a time-limited grant would end.
	Ends time.Time
	// IdleDays, when set, says that a time-limited grant ends early once
	// the app goes that many days without using it (its refresh token's
	// life).
	IdleDays int
	// Identity: the app will also learn who the member is (openid,
	// fhirUser, launch/patient).
	Identity bool
}

// ConnectedApp is one row of the connected apps page.
type ConnectedApp struct {
	ClientID   string
	Name       string
	Developer  string
	Categories []string // catalog categories the app may read
	Sensitive  bool     // the member shared sensitive records with it
	Granted    time.Time
	LastUsed   time.Time // zero: never
	Ends       time.Time // zero: no end (an old grant)
	OneTime    bool
	Problem    *Msg // MsgAppsCutOff when the plan suspended the app
}

// AppsView is the connected apps page.
type AppsView struct {
	CSRF   string
	Member string
	Apps   []ConnectedApp
	Notice *Msg // MsgAppsRevoked after a revocation, or nil
	// IdleDays, when set, says that time-limited access ends early once an
	// app goes that many days without using it.
	IdleDays int
}

// RevokeView asks the member to confirm ending an app's access.
type RevokeView struct {
	CSRF     string
	ClientID string
	App      string
}

// HistoryRow is one access of an app to the member's data.
type HistoryRow struct {
	Time     time.Time
	Types    []string // member-facing names of the resource types
	Count    int
	ClientIP string
}

// HistoryView is an app's access history.
type HistoryView struct {
	CSRF      string
	ClientID  string
	App       string
	Rows      []HistoryRow
	Truncated bool // only the newest rows are shown
}

// Problem is what went wrong, for the error page: each has a title and a
// message in every catalog ("problem.<id>.title", "problem.<id>.message").
type Problem string

// The problems a member page can show.
const (
	ProblemNotFound           Problem = "not-found"
	ProblemFormExpired        Problem = "form-expired"
	ProblemFormTooLarge       Problem = "form-too-large"
	ProblemFormUnreadable     Problem = "form-unreadable"
	ProblemLinkTooLong        Problem = "link-too-long"
	ProblemLinkRepeated       Problem = "link-repeated"
	ProblemUnknownApp         Problem = "unknown-app"
	ProblemRedirectUnknown    Problem = "redirect-unknown"
	ProblemAppPending         Problem = "app-pending"     // "app"
	ProblemAppUnavailable     Problem = "app-unavailable" // "app"
	ProblemCheckAppFailed     Problem = "check-app-failed"
	ProblemPasswordOff        Problem = "password-off"
	ProblemSignInFailed       Problem = "signin-failed"
	ProblemSignInUnavailable  Problem = "signin-unavailable"
	ProblemSignInCancelled    Problem = "signin-cancelled"
	ProblemSignInForeign      Problem = "signin-foreign"
	ProblemSignInProvider     Problem = "signin-provider"
	ProblemSignInState        Problem = "signin-state"
	ProblemSignInExpired      Problem = "signin-expired"
	ProblemSignInUnreachable  Problem = "signin-unreachable"
	ProblemNoMemberRecord     Problem = "no-member-record"
	ProblemMemberRecordFailed Problem = "member-record-failed"
	ProblemLoadAppsFailed     Problem = "load-apps-failed"
	ProblemRevokeFailed       Problem = "revoke-failed"
	ProblemNotConnected       Problem = "not-connected"
	ProblemHistoryFailed      Problem = "history-failed"
	ProblemSomethingWentWrong Problem = "something-went-wrong"
)

// problemArgs are the arguments each problem's messages need; the plan's
// name ("plan") is always given.
var problemArgs = map[Problem][]string{ProblemAppPending: {"app"}, ProblemAppUnavailable: {"app"}}

// Problems lists every problem, for the start-up check.
func Problems() []Problem {
	return []Problem{ProblemNotFound, ProblemFormExpired, ProblemFormTooLarge, ProblemFormUnreadable, ProblemLinkTooLong,
		ProblemLinkRepeated, ProblemUnknownApp, ProblemRedirectUnknown, ProblemAppPending, ProblemAppUnavailable,
		ProblemCheckAppFailed, ProblemPasswordOff, ProblemSignInFailed, ProblemSignInUnavailable, ProblemSignInCancelled,
		ProblemSignInForeign, ProblemSignInProvider, ProblemSignInState, ProblemSignInExpired, ProblemSignInUnreachable,
		ProblemNoMemberRecord, ProblemMemberRecordFailed, ProblemLoadAppsFailed, ProblemRevokeFailed, ProblemNotConnected,
		ProblemHistoryFailed, ProblemSomethingWentWrong}
}

// ErrorView is the error page: what happened, and what to do next (sign
// in again, connected apps, member services).
type ErrorView struct {
	Problem Problem
	Status  int
	// App names the app for the problems that mention one.
	App string
	// SignIn offers the sign-in page as a next step.
	SignIn bool

	Args      []any  // filled by the renderer
	RequestID string // filled by the renderer
}
