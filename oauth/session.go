package oauth

import (
	"time"

	"github.com/mohae/deepcopy"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is what the gateway keeps with every code and token: the OpenID
// Connect session fosite needs plus the SMART launch context.
type Session struct {
	*openid.DefaultSession `json:"oidc"`

	Member   string `json:"member"`    // the member's login name
	Patient  string `json:"patient"`   // the FHIR Patient id every token of the grant is limited to
	FHIRUser string `json:"fhir_user"` // absolute URL of the member's Patient resource
	GrantID  string `json:"grant_id"`  // the apps.Grant this session was issued under
	// GrantScopes is the grant's whole scope, kept by every refresh token
	// even when the access token issued with it was narrowed (see
	// refreshGrant); empty until a refresh first narrows.
	GrantScopes []string `json:"grant_scopes,omitempty"`
	// GrantEnds is when the grant ends: no code or token of it expires
	// later (SetExpiresAt). Zero for grants made before grants had an end.
	GrantEnds time.Time `json:"grant_ends,omitzero"`
	// Sensitive is the member's choice to share records the plan labels
	// sensitive; the FHIR API withholds them otherwise.
	Sensitive bool `json:"sensitive,omitempty"`
}

// SetExpiresAt records when a code or token expires, never later than the
// grant's end: fosite sets every lifespan through it, so a refresh token
// (or an access token issued near the end) cannot outlive the grant.
func (s *Session) SetExpiresAt(key fosite.TokenType, exp time.Time) {
	if !s.GrantEnds.IsZero() && exp.After(s.GrantEnds) {
		exp = s.GrantEnds
	}
	s.DefaultSession.SetExpiresAt(key, exp)
}

// NewSession returns an empty session for fosite to fill from storage.
func NewSession() *Session {
	return &Session{DefaultSession: &openid.DefaultSession{
		Claims:  &jwt.IDTokenClaims{},
		Headers: &jwt.Headers{},
	}}
}

// Clone returns a deep copy, as fosite requires of sessions.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	return deepcopy.Copy(s).(fosite.Session)
}

// GetExtraClaims adds the issuer (RFC 7662 §2.2 "iss") and the SMART
// context to introspection responses (RFC 7662 allows extra members).
func (s *Session) GetExtraClaims() map[string]interface{} {
	claims := map[string]interface{}{}
	if s.DefaultSession != nil && s.Claims != nil && s.Claims.Issuer != "" {
		claims["iss"] = s.Claims.Issuer
	}
	if s.Patient != "" {
		claims["patient"] = s.Patient
	}
	if s.FHIRUser != "" {
		claims["fhirUser"] = s.FHIRUser
	}
	return claims
}
