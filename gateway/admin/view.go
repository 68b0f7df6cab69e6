package admin

import (
	"encoding/json"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// AppView is an app as the admin API shows it: every field of apps.App but
// the secret hash, which never leaves the store.
type AppView struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	Developer    string   `json:"developer,omitempty"`
	RedirectURIs []string `json:"redirect_uris"`
	Public       bool     `json:"public"`
	// TokenEndpointAuthMethod is none, client_secret_basic or private_key_jwt.
	TokenEndpointAuthMethod string           `json:"token_endpoint_auth_method"`
	JWKS                    json.RawMessage  `json:"jwks,omitempty"`
	JWKSURI                 string           `json:"jwks_uri,omitempty"`
	Scopes                  []string         `json:"scopes"`
	PrivacyPolicyURL        string           `json:"privacy_policy_url,omitempty"`
	TermsURL                string           `json:"terms_url,omitempty"`
	Attestation             apps.Attestation `json:"attestation"`
	Status                  apps.Status      `json:"status"`
	StatusReason            string           `json:"status_reason,omitempty"`
	TokensValidAfter        *time.Time       `json:"tokens_valid_after,omitempty"`
	CreatedAt               time.Time        `json:"created_at"`
	UpdatedAt               time.Time        `json:"updated_at"`
}

// ViewOf returns the admin view of a.
func ViewOf(a apps.App) AppView {
	v := AppView{
		ClientID: a.ClientID, Name: a.Name, Developer: a.Developer, RedirectURIs: a.RedirectURIs,
		Public: a.Public, TokenEndpointAuthMethod: a.AuthMethod(), JWKS: a.JWKS, JWKSURI: a.JWKSURI, Scopes: a.Scopes, PrivacyPolicyURL: a.PrivacyPolicyURL, TermsURL: a.TermsURL,
		Attestation: a.Attestation, Status: a.Status, StatusReason: a.StatusReason,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
	if !a.TokensValidAfter.IsZero() {
		t := a.TokensValidAfter
		v.TokensValidAfter = &t
	}
	return v
}

// RegisterRequest is the body of POST /admin/apps. Scope is a
// space-separated list of SMART scopes; empty means apps.DefaultScopes.
type RegisterRequest struct {
	Name             string   `json:"name"`
	Developer        string   `json:"developer,omitempty"`
	RedirectURIs     []string `json:"redirect_uris"`
	Public           bool     `json:"public,omitempty"`
	Scope            string   `json:"scope,omitempty"`
	PrivacyPolicyURL string   `json:"privacy_policy_url,omitempty"`
	TermsURL         string   `json:"terms_url,omitempty"`
	Attestation      string   `json:"attestation,omitempty"`
	// JWKS (a JSON Web Key Set object) or JWKSURI registers a confidential
	// app that authenticates with private_key_jwt (RS384 or ES384) instead
	// of a secret.
	JWKS    json.RawMessage `json:"jwks,omitempty"`
	JWKSURI string          `json:"jwks_uri,omitempty"`
}

// RegisterResponse is the answer to a registration. ClientSecret is set
// only for confidential apps and is shown this once: only its hash is kept.
type RegisterResponse struct {
	ClientID     string  `json:"client_id"`
	ClientSecret string  `json:"client_secret,omitempty"`
	App          AppView `json:"app"`
}

// DecideRequest is the optional body of POST /admin/apps/{client_id}/{action}.
type DecideRequest struct {
	Reason string `json:"reason,omitempty"`
}

// ErrorResponse is the body of every error the admin API answers with.
type ErrorResponse struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}
