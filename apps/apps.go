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
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusApproved, StatusDenied, StatusSuspended:
		return true
	}
	return false
}

// Attestation is what an app declared about its privacy practices. The
// consent page shows it identically for every app; it is never a reason to
// refuse an app (CMS-9115-F lets a plan ask, not require).
type Attestation string

// The attestation answers an app can give.
const (
	AttestationNone     Attestation = "none"     // the app did not answer
	AttestationAttested Attestation = "attested" // the app attested to the plan's privacy criteria
	AttestationDeclined Attestation = "declined" // the app said it does not meet them
)

// App is a registered third-party application (an OAuth client).
type App struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	Developer    string   `json:"developer,omitempty"`
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
	// HasLogo says a logo is stored for the app (Store.GetAppLogo): the
	// gateway serves it from its own origin, so showing it tells the app
	// nothing.
	HasLogo bool `json:"has_logo,omitempty"`
	// WebhookURL, when set, receives a signed notice each time a member
	// ends the app's access (see gateway/webhook).
	WebhookURL   string      `json:"webhook_url,omitempty"`
	Attestation  Attestation `json:"attestation"`
	Status       Status      `json:"status"`
	StatusReason string      `json:"status_reason,omitempty"`
	// TokensValidAfter cuts off every grant made before it: a suspension or
	// denial sets it, so the app's existing tokens stay dead even if the app
	// is approved again later.
	TokensValidAfter time.Time `json:"tokens_valid_after,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
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
