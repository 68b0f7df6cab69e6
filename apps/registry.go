package apps

import (
	"bytes"
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

// Registry registers third-party apps and records the plan's decisions
// about them. It is safe for concurrent use when its Store is.
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
}

// Registration is what an app developer submits to register an app.
type Registration struct {
	Name             string
	Developer        string
	RedirectURIs     []string
	Public           bool
	Scopes           []string // empty means DefaultScopes; not checked against the SMART grammar here
	PrivacyPolicyURL string
	TermsURL         string
	WebsiteURL       string
	// Logo is a PNG of at most MaxLogoBytes and MaxLogoSide pixels a side.
	Logo []byte
	// WebhookURL (https, or http on a loopback host) receives a signed
	// notice when a member ends the app's access.
	WebhookURL  string
	Attestation Attestation // empty means AttestationNone
	// JWKS (a JSON Web Key Set) or JWKSURI (https) registers a confidential
	// app that authenticates with private_key_jwt: it gets no secret.
	JWKS    json.RawMessage
	JWKSURI string
}

// Register validates reg and stores it as a new pending app. It returns the
// app and, for a confidential app, its client secret: the only time the
// secret exists outside the caller's hands, since only its hash is stored.
// Invalid input yields an error wrapping ErrInvalid that lists every problem.
// The app is stored before it is audited; if only the audit write fails,
// Register returns the stored app and secret together with an error wrapping
// ErrNotAudited, so the secret is not lost.
func (r *Registry) Register(ctx context.Context, reg Registration) (App, string, error) {
	if err := reg.Validate(); err != nil {
		return App{}, "", err
	}
	id, err := newClientID()
	if err != nil {
		return App{}, "", err
	}
	now := r.now()
	app := App{
		ClientID: id, Name: strings.TrimSpace(reg.Name), Developer: strings.TrimSpace(reg.Developer),
		RedirectURIs: slices.Clone(reg.RedirectURIs), Public: reg.Public, Scopes: slices.Clone(reg.Scopes),
		PrivacyPolicyURL: reg.PrivacyPolicyURL, TermsURL: reg.TermsURL, WebsiteURL: reg.WebsiteURL, WebhookURL: reg.WebhookURL,
		Attestation: reg.Attestation, HasLogo: len(reg.Logo) > 0,
		JWKS: compactJSON(reg.JWKS), JWKSURI: reg.JWKSURI,
		Status: StatusPending, CreatedAt: now, UpdatedAt: now,
	}
	if len(app.Scopes) == 0 {
		app.Scopes = slices.Clone(DefaultScopes)
	}
	if app.Attestation == "" {
		app.Attestation = AttestationNone
	}
	var secret string
	if app.AuthMethod() == AuthClientSecret {
		if secret, err = NewSecret(); err != nil {
			return App{}, "", err
		}
		app.SecretHash = HashSecret(secret)
	}
	if app.HasLogo {
		// Before the app, so that an app never says it has a logo it lacks.
		if err := r.Store.PutAppLogo(ctx, id, reg.Logo); err != nil {
			return App{}, "", fmt.Errorf("register app: logo: %w", err)
		}
	}
	if err := r.Store.CreateApp(ctx, app); err != nil {
		return App{}, "", fmt.Errorf("register app: %w", err)
	}
	if err := r.record(ctx, Event{Action: "app.register", ClientID: id}); err != nil {
		return app, secret, err
	}
	return app, secret, nil
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

// Decide moves an app to approved, denied or suspended and audits the
// decision as "app.approve", "app.deny" or "app.suspend". Denial and
// suspension need a reason and cut off every grant made up to now. Deciding
// the status an app already has is allowed and audited again. The decision
// is stored before it is audited; if the audit write fails, Decide returns
// the updated app together with an error wrapping ErrNotAudited.
func (r *Registry) Decide(ctx context.Context, clientID string, to Status, reason string) (App, error) {
	reason = strings.TrimSpace(reason)
	action, err := checkDecision(to, reason)
	if err != nil {
		return App{}, err
	}
	now := r.now()
	// A compare-and-set on the app: a decision racing another applies to
	// what the other stored, so a suspension's TokensValidAfter is never
	// overwritten by an approval that read the app before it.
	app, err := r.Store.UpdateApp(ctx, clientID, func(app App) (App, error) {
		app.Status, app.StatusReason, app.UpdatedAt = to, reason, now
		if to != StatusApproved {
			// Strictly after now, so a grant made in the same clock tick as the
			// decision is cut off too (the check is CreatedAt.Before).
			if cut := now.Add(time.Nanosecond); cut.After(app.TokensValidAfter) {
				app.TokensValidAfter = cut
			}
		}
		return app, nil
	})
	if err != nil {
		return App{}, fmt.Errorf("decide app: %w", err)
	}
	if err := r.record(ctx, Event{Action: action, ClientID: clientID, Reason: reason}); err != nil {
		return app, err
	}
	return app, nil
}

// checkDecision returns the audit action for a decision, or an error
// wrapping ErrInvalid.
func checkDecision(to Status, reason string) (string, error) {
	var action string
	switch to {
	case StatusApproved:
		action = "app.approve"
	case StatusDenied:
		action = "app.deny"
	case StatusSuspended:
		action = "app.suspend"
	default:
		return "", fmt.Errorf("%w: status must be approved, denied or suspended, not %q", ErrInvalid, to)
	}
	if to != StatusApproved && reason == "" {
		return "", fmt.Errorf("%w: a reason is required to set status %s", ErrInvalid, to)
	}
	if len(reason) > maxReason {
		return "", fmt.Errorf("%w: reason is longer than %d bytes", ErrInvalid, maxReason)
	}
	if hasControl(reason) {
		return "", fmt.Errorf("%w: reason contains control characters", ErrInvalid)
	}
	return action, nil
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
