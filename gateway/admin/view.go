package admin

import (
	"encoding/json"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/webhook"
)

// AppView is an app as the admin API shows it: every field of apps.App but
// the secret and registration-token hashes, which never leave the store.
type AppView struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	Description  string   `json:"description,omitempty"`
	Developer    string   `json:"developer,omitempty"`
	ContactEmail string   `json:"contact_email,omitempty"`
	ContactPhone string   `json:"contact_phone,omitempty"`
	RedirectURIs []string `json:"redirect_uris"`
	Public       bool     `json:"public"`
	// ClientType is public, confidential-symmetric or confidential-asymmetric.
	ClientType apps.ClientType `json:"client_type"`
	// TokenEndpointAuthMethod is none, client_secret_basic or private_key_jwt.
	TokenEndpointAuthMethod string           `json:"token_endpoint_auth_method"`
	JWKS                    json.RawMessage  `json:"jwks,omitempty"`
	JWKSURI                 string           `json:"jwks_uri,omitempty"`
	Scopes                  []string         `json:"scopes"`
	PrivacyPolicyURL        string           `json:"privacy_policy_url,omitempty"`
	TermsURL                string           `json:"terms_url,omitempty"`
	WebsiteURL              string           `json:"website_url,omitempty"`
	LogoURI                 string           `json:"logo_uri,omitempty"`
	HasLogo                 bool             `json:"has_logo,omitempty"`
	WebhookURL              string           `json:"webhook_url,omitempty"`
	Attestation             apps.Attestation `json:"attestation"`
	// AttestationStatus is none, attested or declined.
	AttestationStatus apps.AttestationStatus `json:"attestation_status"`
	AttestationStale  bool                   `json:"attestation_stale,omitempty"`
	PolicyChangedAt   *time.Time             `json:"policy_changed_at,omitempty"`
	RegisteredBy      apps.Actor             `json:"registered_by,omitzero"`
	Status            apps.Status            `json:"status"`
	StatusReason      string                 `json:"status_reason,omitempty"`
	TokensValidAfter  *time.Time             `json:"tokens_valid_after,omitempty"`
	CreatedAt         time.Time              `json:"created_at"`
	UpdatedAt         time.Time              `json:"updated_at"`
}

// ViewOf returns the admin view of a.
func ViewOf(a apps.App) AppView {
	v := AppView{
		ClientID: a.ClientID, Name: a.Name, Description: a.Description, Developer: a.Developer,
		ContactEmail: a.ContactEmail, ContactPhone: a.ContactPhone, RedirectURIs: a.RedirectURIs,
		Public: a.Public, ClientType: a.ClientType(), TokenEndpointAuthMethod: a.AuthMethod(), JWKS: a.JWKS, JWKSURI: a.JWKSURI,
		Scopes: a.Scopes, PrivacyPolicyURL: a.PrivacyPolicyURL, TermsURL: a.TermsURL,
		WebsiteURL: a.WebsiteURL, LogoURI: a.LogoURI, HasLogo: a.HasLogo, WebhookURL: a.WebhookURL,
		Attestation: a.Attestation, AttestationStatus: a.Attestation.Status(), AttestationStale: a.Attestation.Stale(),
		PolicyChangedAt: timePtr(a.PolicyChangedAt), RegisteredBy: a.RegisteredBy,
		Status: a.Status, StatusReason: a.StatusReason, TokensValidAfter: timePtr(a.TokensValidAfter),
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// AppDetail is one app with everything an admin reviews: its latest check
// results, its history and its usage.
type AppDetail struct {
	AppView
	Checks  *apps.Checks        `json:"checks,omitempty"`
	History []apps.HistoryEntry `json:"history"`
	Usage   apps.Usage          `json:"usage"`
	// PolicyWatch is what the policy watch last saw of the app's privacy
	// policy and terms (hashes, when each changed, why a fetch failed).
	PolicyWatch *apps.PolicyWatch `json:"policy_watch,omitempty"`
}

// RegisterRequest is the body of POST /admin/apps. Scope is a
// space-separated list of SMART scopes; empty means apps.DefaultScopes.
type RegisterRequest struct {
	Name             string   `json:"name"`
	Description      string   `json:"description,omitempty"`
	Developer        string   `json:"developer,omitempty"`
	ContactEmail     string   `json:"contact_email,omitempty"`
	ContactPhone     string   `json:"contact_phone,omitempty"`
	RedirectURIs     []string `json:"redirect_uris"`
	Public           bool     `json:"public,omitempty"`
	Scope            string   `json:"scope,omitempty"`
	PrivacyPolicyURL string   `json:"privacy_policy_url,omitempty"`
	TermsURL         string   `json:"terms_url,omitempty"`
	WebsiteURL       string   `json:"website_url,omitempty"`
	LogoURI          string   `json:"logo_uri,omitempty"`
	// Logo is a PNG (base64 in JSON), shown on the consent page.
	Logo []byte `json:"logo,omitempty"`
	// WebhookURL receives a signed notice when a member ends the app's
	// access (see gateway/webhook).
	WebhookURL string `json:"webhook_url,omitempty"`
	// Attestation is {"answers": {question id: true|false}, "by": "…"}, or
	// one of the older words "attested" (yes to all), "declined" (no to
	// all) or "none".
	Attestation *apps.Attestation `json:"attestation,omitempty"`
	// JWKS (a JSON Web Key Set object) or JWKSURI registers a confidential
	// app that authenticates with private_key_jwt (RS384 or ES384) instead
	// of a secret.
	JWKS    json.RawMessage `json:"jwks,omitempty"`
	JWKSURI string          `json:"jwks_uri,omitempty"`
}

// RegisterResponse is the answer to a registration. ClientSecret is set
// only for confidential apps and is shown this once: only its hash is kept.
type RegisterResponse struct {
	ClientID     string      `json:"client_id"`
	ClientSecret string      `json:"client_secret,omitempty"`
	App          AppView     `json:"app"`
	Checks       apps.Checks `json:"checks"`
}

// DecideRequest is the body of POST /admin/apps/{client_id}/{action}.
// Deny and suspend cite criteria ids and evidence; approve and reinstate
// need an override reason when an automated criterion fails.
type DecideRequest struct {
	Criteria []string `json:"criteria,omitempty"`
	Evidence string   `json:"evidence,omitempty"`
	Override string   `json:"override,omitempty"`
	Note     string   `json:"note,omitempty"`
	// Reason is the older name of Evidence, still accepted.
	Reason string `json:"reason,omitempty"`
}

// ErrorResponse is the body of every error the admin API answers with.
type ErrorResponse struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// DeliveryView is a revocation notice as admins see it: where it went and
// how each attempt went, not the signed notice itself.
type DeliveryView struct {
	ID            string     `json:"id"`
	ClientID      string     `json:"client_id"`
	URL           string     `json:"url"`
	Event         string     `json:"event"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	LastResult    string     `json:"last_result,omitempty"`
	NextAttempt   *time.Time `json:"next_attempt,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// DeliveryViewOf returns the admin view of d.
func DeliveryViewOf(d webhook.Delivery) DeliveryView {
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return DeliveryView{ID: d.ID, ClientID: d.ClientID, URL: d.URL, Event: d.Event, Status: d.Status, Attempts: d.Attempts,
		CreatedAt: d.CreatedAt, LastAttemptAt: at(d.LastAttemptAt), LastResult: d.LastResult, NextAttempt: at(d.NextAttempt),
		DeliveredAt: at(d.DeliveredAt)}
}
