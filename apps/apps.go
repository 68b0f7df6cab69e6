package apps

import (
	"encoding/json"
	"errors"
	"time"
)

// Status is where an app stands in the plan's review. Only an approved app
// may start an authorization or use a token.
type Status string

// The statuses an app moves through. New registrations start pending.
const (
	StatusPending   Status = "pending"
	StatusApproved  Status = "approved"
	StatusDenied    Status = "denied"
	StatusSuspended Status = "suspended"
	// StatusDeleted is an app its developer deleted (RFC 7592): it can
	// never be approved again, but its record and history stay for the
	// auditor.
	StatusDeleted Status = "deleted"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusApproved, StatusDenied, StatusSuspended, StatusDeleted:
		return true
	}
	return false
}

// App is a registered third-party application (an OAuth client). It is
// read on every token check, so it holds only what describes the app; check
// results (Checks), the decision history (HistoryEntry) and the policy
// watch (PolicyWatch) are separate records.
type App struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	// Description is the developer's short account of what the app does.
	Description string `json:"description,omitempty"`
	// Developer is the organisation that makes the app.
	Developer    string   `json:"developer,omitempty"`
	ContactEmail string   `json:"contact_email,omitempty"`
	ContactPhone string   `json:"contact_phone,omitempty"`
	RedirectURIs []string `json:"redirect_uris"`
	Public       bool     `json:"public"`
	SecretHash   []byte   `json:"secret_hash,omitempty"` // SHA-256 of the client secret; empty for public and private_key_jwt apps
	// JWKS or JWKSURI (never both) hold the public keys of an app that
	// authenticates with private_key_jwt (RFC 7523) instead of a secret.
	JWKS             json.RawMessage `json:"jwks,omitempty"`
	JWKSURI          string          `json:"jwks_uri,omitempty"`
	Scopes           []string        `json:"scopes"` // the scopes the app may ever be granted
	PrivacyPolicyURL string          `json:"privacy_policy_url,omitempty"`
	TermsURL         string          `json:"terms_url,omitempty"`
	// WebsiteURL is the app's home page, shown on the consent page.
	WebsiteURL string `json:"website_url,omitempty"`
	// LogoURI is where the app publishes its logo (RFC 7591 logo_uri). It
	// is recorded and checked, never loaded by a member's browser: members
	// see the copy stored with the app (HasLogo).
	LogoURI string `json:"logo_uri,omitempty"`
	// HasLogo says a logo is stored for the app (Store.GetAppLogo): the
	// gateway serves it from its own origin, so showing it tells the app
	// nothing.
	HasLogo bool `json:"has_logo,omitempty"`
	// WebhookURL, when set, receives a signed notice each time a member
	// ends the app's access (see gateway/webhook).
	WebhookURL string `json:"webhook_url,omitempty"`
	// Attestation is the app's answers to the privacy questions. It is
	// shown to members the same way for every app and never refuses one.
	Attestation Attestation `json:"attestation"`
	// PolicyChangedAt is when the policy watch last saw the app's privacy
	// policy or terms change (zero: never); members are told at consent.
	PolicyChangedAt time.Time `json:"policy_changed_at,omitzero"`
	// RegisteredBy is who registered the app: an admin, the admin token,
	// or a developer (through the portal or RFC 7591).
	RegisteredBy Actor `json:"registered_by,omitzero"`
	// RegistrationTokenHash is the SHA-256 of the RFC 7592 registration
	// access token of an app registered through RFC 7591; empty otherwise.
	RegistrationTokenHash []byte `json:"registration_token_hash,omitempty"`
	Status                Status `json:"status"`
	// StatusReason is the evidence or note of the latest decision; the
	// full account is the app's history.
	StatusReason string `json:"status_reason,omitempty"`
	// TokensValidAfter cuts off every grant made before it: a suspension or
	// denial sets it, so the app's existing tokens stay dead even if the app
	// is approved again later.
	TokensValidAfter time.Time `json:"tokens_valid_after,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// ClientType is how an app authenticates, in the words of the plan's
// criteria: a public app holds no credential, a confidential symmetric app
// holds a client secret, a confidential asymmetric app holds a private key
// whose public half is registered (jwks or jwks_uri).
type ClientType string

// The client types.
const (
	ClientPublic                 ClientType = "public"
	ClientConfidentialSymmetric  ClientType = "confidential-symmetric"
	ClientConfidentialAsymmetric ClientType = "confidential-asymmetric"
)

// ClientType returns the app's client type.
func (a App) ClientType() ClientType {
	switch a.AuthMethod() {
	case AuthNone:
		return ClientPublic
	case AuthPrivateKeyJWT:
		return ClientConfidentialAsymmetric
	}
	return ClientConfidentialSymmetric
}

// Approved reports whether the app may authorize members and use tokens.
func (a App) Approved() bool { return a.Status == StatusApproved }

// AuthMethod is how the app authenticates at the token endpoint: AuthNone,
// AuthClientSecret or AuthPrivateKeyJWT.
func (a App) AuthMethod() string {
	switch {
	case a.Public:
		return AuthNone
	case len(a.JWKS) > 0 || a.JWKSURI != "":
		return AuthPrivateKeyJWT
	}
	return AuthClientSecret
}

// Grant is a member's consent for one app, made on the consent page. Its ID
// is the OAuth request id that every code, access and refresh token issued
// under that consent carries, so ending the grant ends all of them.
type Grant struct {
	ID       string   `json:"id"`
	Member   string   `json:"member"`  // the member key (a login name, or oidc:… for plan sign-in)
	Patient  string   `json:"patient"` // the FHIR Patient id the grant is limited to
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"` // what the member chose to share, as explicit types
	// Sensitive records the member's choice to share records the plan
	// labels sensitive too; false withholds them.
	Sensitive bool `json:"sensitive,omitempty"`
	// OneTime marks a grant for one sitting: it lasts an hour and gets no
	// refresh token. Otherwise it is time-limited (by default 13 months).
	OneTime bool `json:"one_time,omitempty"`
	// ExpiresAt is when access ends; no token of the grant outlives it. A
	// grant stored before grants had an end has none (zero).
	ExpiresAt time.Time  `json:"expires_at,omitzero"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Active reports whether the grant has not been revoked. It may still have
// expired: see Expired and Live.
func (g Grant) Active() bool { return g.RevokedAt == nil }

// Expired reports whether the grant's time ran out at now.
func (g Grant) Expired(now time.Time) bool { return !g.ExpiresAt.IsZero() && !now.Before(g.ExpiresAt) }

// Live reports whether the grant still allows access at now: not revoked
// and not expired.
func (g Grant) Live(now time.Time) bool { return g.Active() && !g.Expired(now) }

// End is when the grant stopped, or will stop, allowing access: its
// revocation if that came first, else its expiry. It is zero for a grant
// stored before grants had an end that was never revoked.
func (g Grant) End() time.Time {
	if g.RevokedAt != nil && (g.ExpiresAt.IsZero() || g.RevokedAt.Before(g.ExpiresAt)) {
		return *g.RevokedAt
	}
	return g.ExpiresAt
}

// KeepUntil is when a store forgets the grant: retention (the audit
// retention) after its End, so that the member's pages list an ended grant
// as long as they show its access history. Zero (kept for good) for a
// grant without an End.
func (g Grant) KeepUntil(retention time.Duration) time.Time {
	end := g.End()
	if end.IsZero() {
		return time.Time{}
	}
	return end.Add(retention)
}

// Kept reports whether a store still keeps the grant at now (see KeepUntil).
func (g Grant) Kept(now time.Time, retention time.Duration) bool {
	until := g.KeepUntil(retention)
	return until.IsZero() || now.Before(until)
}

// Errors the registry and its stores return. Stores wrap or return them
// as-is; callers test with errors.Is.
var (
	ErrNotFound      = errors.New("apps: not found")
	ErrAlreadyExists = errors.New("apps: already exists")
	ErrInvalid       = errors.New("apps: invalid input")
	// ErrUnavailable marks a storage failure that is not an answer: the
	// backend could not be reached, timed out, or cannot work right now
	// (loading, read-only, out of memory). Whoever serves the request
	// answers 503 with Retry-After, never a refusal: it does not know
	// whether the credentials in hand are good.
	ErrUnavailable = errors.New("apps: storage unavailable")
)
