package apps

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultScopes are the scopes an app may be granted when it registers
// without naming any: a standalone patient launch with OpenID Connect
// identity, offline access, and read access to the member's own data in
// SMART v1 and v2 syntax. Register copies it; callers must not modify it.
var DefaultScopes = []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.read", "patient/*.rs"}

// ErrNotAudited marks an error from Register or Decide whose change was
// stored but whose audit event was not: the returned app (and secret) are
// valid, and the caller should log the failure rather than report the
// change as failed.
var ErrNotAudited = errors.New("apps: change stored but not audited")

// clientIDBytes is the entropy of a client id: 128 bits, 22 base64url characters.
const clientIDBytes = 16

// Registry registers third-party apps, checks them against the plan's
// criteria and records the plan's decisions about them, each with who made
// it. It is safe for concurrent use when its Store is.
//
// Suspending or denying an app needs no token clean-up here: the oauth
// package rebuilds the client from the Store on every token use and refuses
// apps that are not approved, and TokensValidAfter keeps tokens issued
// before the decision dead even after a later approval.
type Registry struct {
	Store Store
	// Audit receives an event for every registration and decision; nil
	// records nothing.
	Audit Auditor
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ResourceTypes are the FHIR resource types the gateway serves, for the
	// scopes criterion; nil accepts any type name.
	ResourceTypes []string
	// AutoApprove approves, as PolicyActor, every app whose automated
	// checks all pass when it registers or an update sends it back to
	// review. Apps that fail a check wait for an admin.
	AutoApprove bool
}

// Registration is what an app developer submits to register an app, or to
// update a registration.
type Registration struct {
	Name         string
	Description  string
	Developer    string
	ContactEmail string
	ContactPhone string
	RedirectURIs []string
	Public       bool
	Scopes       []string // empty means DefaultScopes; the SMART grammar is checked by the scopes criterion
	// PrivacyPolicyURL, TermsURL, WebsiteURL and LogoURI are https links
	// (http only on a loopback host).
	PrivacyPolicyURL string
	TermsURL         string
	WebsiteURL       string
	LogoURI          string
	// Logo is a PNG of at most MaxLogoBytes and MaxLogoSide pixels a side.
	Logo []byte
	// WebhookURL (https, or http on a loopback host) receives a signed
	// notice when a member ends the app's access.
	WebhookURL string
	// Attestation holds the answers to the privacy questions (Questions).
	// By defaults to the registering actor; At is set to the time of
	// registration.
	Attestation Attestation
	// JWKS (a JSON Web Key Set) or JWKSURI (https) registers a confidential
	// app that authenticates with private_key_jwt: it gets no secret.
	JWKS    json.RawMessage
	JWKSURI string
	// RegistrationToken issues an RFC 7592 registration access token with
	// which the developer reads, updates and deletes the registration.
	RegistrationToken bool
}

// Registered is the result of a registration: the app and the credentials
// that exist outside the caller's hands only now, since only their hashes
// are stored.
type Registered struct {
	App App
	// Secret is the client secret of a confidential symmetric app.
	Secret string
	// RegistrationToken is the RFC 7592 registration access token, when
	// asked for.
	RegistrationToken string
	// Checks are the results of the criteria at registration.
	Checks Checks
}

// Register validates reg and stores it as a new pending app registered by
// by, checks it against every criterion and stores the results, records
// it in the app's history and, with AutoApprove, approves it if every
// automated check passed. Invalid input yields an error wrapping
// ErrInvalid that lists every problem, and stores nothing. The app is
// stored before it is audited; if only the history or audit write fails,
// Register returns the result together with an error wrapping
// ErrNotAudited, so the secret is not lost.
func (r *Registry) Register(ctx context.Context, reg Registration, by Actor) (Registered, error) {
	if err := by.validate(); err != nil {
		return Registered{}, err
	}
	if err := reg.Validate(); err != nil {
		return Registered{}, err
	}
	id, err := newClientID()
	if err != nil {
		return Registered{}, err
	}
	now := r.now()
	app := App{ClientID: id, Status: StatusPending, CreatedAt: now, UpdatedAt: now, RegisteredBy: by}
	reg.apply(&app, by, now)
	var out Registered
	if app.AuthMethod() == AuthClientSecret {
		if out.Secret, err = NewSecret(); err != nil {
			return Registered{}, err
		}
		app.SecretHash = HashSecret(out.Secret)
	}
	if reg.RegistrationToken {
		if out.RegistrationToken, err = NewSecret(); err != nil {
			return Registered{}, err
		}
		app.RegistrationTokenHash = HashSecret(out.RegistrationToken)
	}
	env, err := r.env(ctx, id)
	if err != nil {
		return Registered{}, fmt.Errorf("register app: %w", err)
	}
	out.Checks = runChecks(app, env, now)
	if app.HasLogo {
		// Before the app, so that an app never says it has a logo it lacks.
		if err := r.Store.PutAppLogo(ctx, id, reg.Logo); err != nil {
			return Registered{}, fmt.Errorf("register app: logo: %w", err)
		}
	}
	if err := r.Store.CreateApp(ctx, app); err != nil {
		return Registered{}, fmt.Errorf("register app: %w", err)
	}
	out.App = app
	if err := r.Store.PutChecks(ctx, out.Checks); err != nil {
		return out, fmt.Errorf("%w: register app: checks: %w", ErrNotAudited, err)
	}
	entry := HistoryEntry{ClientID: id, At: now, Actor: by, Action: ActionRegister, To: StatusPending,
		CriteriaVersion: CriteriaVersion, Criteria: out.Checks.Failed(), ChecksPassed: out.Checks.Passed()}
	if err := r.log(ctx, entry, ""); err != nil {
		return out, err
	}
	if r.AutoApprove && out.Checks.Passed() {
		app, err := r.Decide(ctx, id, DecisionRequest{Action: ActionApprove, Actor: PolicyActor,
			Note: "every automated criterion passed at registration"})
		if err != nil {
			return out, fmt.Errorf("%w: register app: auto-approve: %w", ErrNotAudited, err)
		}
		out.App = app
	}
	return out, nil
}

// apply copies the registration's fields onto app (not its credentials).
func (reg Registration) apply(app *App, by Actor, now time.Time) {
	app.Name, app.Description = strings.TrimSpace(reg.Name), strings.TrimSpace(reg.Description)
	app.Developer = strings.TrimSpace(reg.Developer)
	app.ContactEmail, app.ContactPhone = strings.TrimSpace(reg.ContactEmail), strings.TrimSpace(reg.ContactPhone)
	app.RedirectURIs, app.Public, app.Scopes = slices.Clone(reg.RedirectURIs), reg.Public, slices.Clone(reg.Scopes)
	if len(app.Scopes) == 0 {
		app.Scopes = slices.Clone(DefaultScopes)
	}
	app.PrivacyPolicyURL, app.TermsURL, app.WebsiteURL, app.LogoURI = reg.PrivacyPolicyURL, reg.TermsURL, reg.WebsiteURL, reg.LogoURI
	app.WebhookURL = reg.WebhookURL
	app.JWKS, app.JWKSURI = compactJSON(reg.JWKS), reg.JWKSURI
	if len(reg.Logo) > 0 {
		app.HasLogo = true
	}
	att := reg.Attestation.clone()
	att.StaleSince = time.Time{}
	if len(att.Answers) == 0 {
		att = Attestation{}
	} else {
		att.At = now
		if strings.TrimSpace(att.By) == "" {
			att.By = cmp.Or(by.Name, by.ID)
		}
	}
	app.Attestation = att
}

// Get returns the app with that client id, or an error wrapping ErrNotFound.
func (r *Registry) Get(ctx context.Context, clientID string) (App, error) {
	a, err := r.Store.GetApp(ctx, clientID)
	if err != nil {
		return App{}, fmt.Errorf("get app: %w", err)
	}
	return a, nil
}

// List returns every registered app, oldest registration first.
func (r *Registry) List(ctx context.Context) ([]App, error) {
	list, err := r.Store.ListApps(ctx)
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	return list, nil
}

// env gathers what the checks of app id compare it with.
func (r *Registry) env(ctx context.Context, id string) (checkEnv, error) {
	all, err := r.Store.ListApps(ctx)
	if err != nil {
		return checkEnv{}, err
	}
	others := slices.DeleteFunc(all, func(a App) bool { return a.ClientID == id })
	return checkEnv{others: others, types: r.ResourceTypes}, nil
}

// RunChecks checks the app against every criterion now, stores the
// results (replacing the last) and returns them.
func (r *Registry) RunChecks(ctx context.Context, clientID string) (Checks, error) {
	app, err := r.Store.GetApp(ctx, clientID)
	if err != nil {
		return Checks{}, fmt.Errorf("run checks: %w", err)
	}
	return r.runChecks(ctx, app)
}

func (r *Registry) runChecks(ctx context.Context, app App) (Checks, error) {
	env, err := r.env(ctx, app.ClientID)
	if err != nil {
		return Checks{}, fmt.Errorf("run checks: %w", err)
	}
	c := runChecks(app, env, r.now())
	if err := r.Store.PutChecks(ctx, c); err != nil {
		return Checks{}, fmt.Errorf("run checks: %w", err)
	}
	return c, nil
}

// Checks returns the app's latest check results, or an error wrapping
// ErrNotFound if it was never checked.
func (r *Registry) Checks(ctx context.Context, clientID string) (Checks, error) {
	c, err := r.Store.GetChecks(ctx, clientID)
	if err != nil {
		return Checks{}, fmt.Errorf("get checks: %w", err)
	}
	return c, nil
}

// History returns the app's history, oldest first.
func (r *Registry) History(ctx context.Context, clientID string) ([]HistoryEntry, error) {
	h, err := r.Store.ListHistory(ctx, clientID)
	if err != nil {
		return nil, fmt.Errorf("app history: %w", err)
	}
	return h, nil
}

// Report returns every decision (approve, deny, suspend, reinstate) made
// under the criteria version, over all apps, oldest first; an empty version
// returns the decisions of every version. An auditor reads it to see the
// same rules applied to every app.
func (r *Registry) Report(ctx context.Context, version string) ([]HistoryEntry, error) {
	all, err := r.Store.ListHistory(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("decision report: %w", err)
	}
	out := []HistoryEntry{}
	for _, e := range all {
		if e.Action.Decision() && (version == "" || e.CriteriaVersion == version) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Usage returns how many members hold a live grant for the app and when it
// last called the API.
func (r *Registry) Usage(ctx context.Context, clientID string) (Usage, error) {
	u, err := r.Store.AppUsage(ctx, clientID, r.now())
	if err != nil {
		return Usage{}, fmt.Errorf("app usage: %w", err)
	}
	return u, nil
}

// Filter selects apps in Search. Zero fields select everything.
type Filter struct {
	Status      Status
	Attestation AttestationStatus
	// Query matches, without case, part of the name, developer, client
	// id, contact email or a redirect URI.
	Query string
	// RegisteredBy selects the apps one actor registered (its ID and Kind):
	// a developer's own apps.
	RegisteredBy *Actor
	// ChecksFailed selects apps whose latest checks failed a criterion.
	ChecksFailed bool
}

// Search returns the apps the filter selects, oldest registration first.
func (r *Registry) Search(ctx context.Context, f Filter) ([]App, error) {
	list, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	q := strings.ToLower(strings.TrimSpace(f.Query))
	out := []App{}
	for _, a := range list {
		switch {
		case f.Status != "" && a.Status != f.Status,
			f.Attestation != "" && a.Attestation.Status() != f.Attestation,
			f.RegisteredBy != nil && (a.RegisteredBy.Kind != f.RegisteredBy.Kind || a.RegisteredBy.ID != f.RegisteredBy.ID),
			q != "" && !matches(a, q):
			continue
		}
		if f.ChecksFailed {
			c, err := r.Store.GetChecks(ctx, a.ClientID)
			if errors.Is(err, ErrNotFound) || (err == nil && c.Passed()) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("search apps: %w", err)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func matches(a App, q string) bool {
	for _, s := range append([]string{a.Name, a.Developer, a.ClientID, a.ContactEmail}, a.RedirectURIs...) {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

func (r *Registry) record(ctx context.Context, e Event) error {
	if r.Audit == nil {
		return nil
	}
	e.Time, e.Outcome = r.now(), "success"
	if err := r.Audit.Record(ctx, e); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotAudited, e.Action, err)
	}
	return nil
}

func (r *Registry) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// newClientID returns a random, URL-safe client id of 128 bits.
func newClientID() (string, error) {
	b := make([]byte, clientIDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate client id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// errList joins validation problems into one error wrapping ErrInvalid.
func errList(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
}

// compactJSON returns raw without insignificant white space (nil for
// empty): Validate has already checked that it parses.
func compactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return bytes.Clone(raw)
	}
	return b.Bytes()
}
