package oauth

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/patientaccess/gateway/oauth/smart"
)

// The paths of the authorization server's endpoints, under the issuer.
// Clients find them from the discovery documents, never from these names.
const (
	PathAuthorize  = "/oauth/authorize"
	PathToken      = "/oauth/token"
	PathIntrospect = "/oauth/introspect"
	PathRevoke     = "/oauth/revoke"
	PathJWKS       = "/oauth/jwks"
	PathLogin      = "/login"
	PathLogout     = "/logout"
	PathAccount    = "/account/apps"
)

// Capabilities are the SMART App Launch capabilities this server offers
// (SMART App Launch 2.x, "Capability Sets").
var Capabilities = []string{
	"launch-standalone",
	"client-public",
	"client-confidential-symmetric",
	"client-confidential-asymmetric",
	"context-standalone-patient",
	"permission-offline",
	"permission-patient",
	"permission-user",
	"permission-v1",
	"permission-v2",
	"sso-openid-connect",
}

// AuthMethodsSupported are the token endpoint authentication methods.
var AuthMethodsSupported = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}

// scopesSupported are the scopes advertised in discovery: the context
// scopes, then v1 .read and v2 .rs for "*" and for every served type, in
// patient/ and then user/ form (a user/ scope grants a member's token what
// the patient/ one does: see narrowScopes).
func scopesSupported(types []ResourceType) []string {
	out := []string{"openid", "fhirUser", "launch/patient", "offline_access"}
	for _, ctx := range []string{"patient/", "user/"} {
		out = append(out, ctx+"*.read", ctx+"*.rs")
		for _, t := range types {
			out = append(out, ctx+t.Name+".read", ctx+t.Name+".rs")
		}
	}
	return out
}

// honoured reports whether the FHIR API enforces scope as written: a SMART
// v2 search restriction must name only search parameters the API
// evaluates on a served type. Anything else is dropped from requests
// before consent, so it is neither offered nor granted.
func (s *Server) honoured(scope string) bool {
	sc, err := smart.Parse(scope)
	if err != nil || !sc.Restricted() {
		return err == nil
	}
	t, ok := s.types[sc.ResourceType]
	if !ok {
		return false
	}
	for name := range sc.Query {
		if !slices.Contains(t.SearchParams, name) {
			return false
		}
	}
	return true
}

// keyID names the signing key in the JWKS and in id_token headers.
func keyID(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:12]), nil
}

func jwksDocument(pub *rsa.PublicKey, kid string) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: "RS256", Use: "sig"}}}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return b, nil
}

// smartConfiguration is {fhir}/.well-known/smart-configuration.
func (s *Server) smartConfiguration() map[string]any {
	iss := s.cfg.Issuer
	return s.withRegistration(map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + PathJWKS,
		"authorization_endpoint":                iss + PathAuthorize,
		"token_endpoint":                        iss + PathToken,
		"introspection_endpoint":                iss + PathIntrospect,
		"revocation_endpoint":                   iss + PathRevoke,
		"management_endpoint":                   iss + PathAccount,
		"grant_types_supported":                 GrantTypes,
		"response_types_supported":              []string{"code"},
		"token_endpoint_auth_methods_supported": AuthMethodsSupported,
		"token_endpoint_auth_signing_alg_values_supported": AssertionAlgorithms,
		"scopes_supported":                 s.scopes,
		"code_challenge_methods_supported": []string{"S256"},
		"capabilities":                     Capabilities,
	})
}

// withRegistration adds the registration endpoint to a discovery document
// when there is one.
func (s *Server) withRegistration(doc map[string]any) map[string]any {
	if s.cfg.RegistrationEndpoint != "" {
		doc["registration_endpoint"] = s.cfg.RegistrationEndpoint
	}
	return doc
}

// openIDConfiguration is {base}/.well-known/openid-configuration.
func (s *Server) openIDConfiguration() map[string]any {
	iss := s.cfg.Issuer
	return s.withRegistration(map[string]any{
		"issuer":                                           iss,
		"authorization_endpoint":                           iss + PathAuthorize,
		"token_endpoint":                                   iss + PathToken,
		"introspection_endpoint":                           iss + PathIntrospect,
		"revocation_endpoint":                              iss + PathRevoke,
		"jwks_uri":                                         iss + PathJWKS,
		"response_types_supported":                         []string{"code"},
		"grant_types_supported":                            GrantTypes,
		"subject_types_supported":                          []string{"pairwise"},
		"id_token_signing_alg_values_supported":            []string{"RS256"},
		"scopes_supported":                                 s.scopes,
		"claims_supported":                                 []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser", "name"},
		"token_endpoint_auth_methods_supported":            AuthMethodsSupported,
		"token_endpoint_auth_signing_alg_values_supported": AssertionAlgorithms,
		"code_challenge_methods_supported":                 []string{"S256"},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serveSMARTConfiguration(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.smartConfiguration())
}

func (s *Server) serveOpenIDConfiguration(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.openIDConfiguration())
}

func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.jwks)
}
