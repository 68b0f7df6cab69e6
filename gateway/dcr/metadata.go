package dcr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth/smart"
)

// Metadata is the client metadata of RFC 7591 §2 this server understands,
// plus a few extensions (developer_name, description, webhook_url,
// privacy_attestation). Metadata it does not understand is ignored, as
// §2 asks.
type Metadata struct {
	RedirectURIs            []string        `json:"redirect_uris"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string        `json:"grant_types,omitempty"`
	ResponseTypes           []string        `json:"response_types,omitempty"`
	ClientName              string          `json:"client_name,omitempty"`
	ClientURI               string          `json:"client_uri,omitempty"`
	LogoURI                 string          `json:"logo_uri,omitempty"`
	Scope                   string          `json:"scope,omitempty"`
	Contacts                []string        `json:"contacts,omitempty"`
	TOSURI                  string          `json:"tos_uri,omitempty"`
	PolicyURI               string          `json:"policy_uri,omitempty"`
	JWKSURI                 string          `json:"jwks_uri,omitempty"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	SoftwareID              string          `json:"software_id,omitempty"`
	SoftwareVersion         string          `json:"software_version,omitempty"`
	// Extensions.
	DeveloperName      string            `json:"developer_name,omitempty"`
	Description        string            `json:"description,omitempty"`
	WebhookURL         string            `json:"webhook_url,omitempty"`
	PrivacyAttestation *apps.Attestation `json:"privacy_attestation,omitempty"`
}

// The error codes of RFC 7591 §3.2.2.
const (
	ErrInvalidRedirectURI    = "invalid_redirect_uri"
	ErrInvalidClientMetadata = "invalid_client_metadata"
)

// Error is an RFC 7591 §3.2.2 error answer.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func metadataError(format string, args ...any) *Error {
	return &Error{Code: ErrInvalidClientMetadata, Description: fmt.Sprintf(format, args...)}
}

// maxBody bounds a registration request; a JWKS is at most 16 KiB.
const maxBody = 64 << 10

// serverManaged are the response members a client must not send in an
// update (RFC 7592 §2.2); a registration ignores them.
var serverManaged = []string{"registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at"}

// decodeMetadata reads one JSON object of client metadata. It returns the
// metadata and the raw members, for the checks only a caller can make.
func decodeMetadata(body []byte) (Metadata, map[string]json.RawMessage, *Error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return Metadata{}, nil, metadataError("the body must be one JSON object of client metadata (RFC 7591 §2)")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Metadata{}, nil, metadataError("the body holds something after the JSON object")
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Metadata{}, nil, metadataError("%s has the wrong type: want %s", te.Field, jsonKind(te.Type.String()))
		}
		return Metadata{}, nil, metadataError("the client metadata cannot be read: %v", err)
	}
	return m, raw, nil
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array of strings"
	case goType == "string":
		return "a string"
	}
	return "an object"
}

// ParseMetadata turns a registration body into an apps.Registration, or
// answers the RFC 7591 error: invalid_redirect_uri for anything wrong with
// the redirect URIs, invalid_client_metadata for anything else, each with
// every problem found. A Registration it returns passes Validate.
func ParseMetadata(body []byte) (apps.Registration, *Error) {
	m, _, e := decodeMetadata(body)
	if e != nil {
		return apps.Registration{}, e
	}
	return m.registration()
}

// registration checks the metadata and maps it onto the registry's terms.
func (m Metadata) registration() (apps.Registration, *Error) {
	if len(m.RedirectURIs) == 0 {
		return apps.Registration{}, &Error{Code: ErrInvalidRedirectURI, Description: "redirect_uris is required: the authorization code grant needs at least one"}
	}
	if err := apps.CheckRedirectURIs(m.RedirectURIs); err != nil {
		return apps.Registration{}, &Error{Code: ErrInvalidRedirectURI, Description: describe(err)}
	}
	var p []string
	reg := apps.Registration{
		Name: m.ClientName, Description: m.Description, Developer: m.DeveloperName, RedirectURIs: m.RedirectURIs,
		Scopes: strings.Fields(m.Scope), PrivacyPolicyURL: m.PolicyURI, TermsURL: m.TOSURI, WebsiteURL: m.ClientURI,
		LogoURI: m.LogoURI, WebhookURL: m.WebhookURL, JWKS: m.JWKS, JWKSURI: m.JWKSURI, RegistrationToken: true,
	}
	if m.PrivacyAttestation != nil {
		reg.Attestation = *m.PrivacyAttestation
	}
	hasKeys := len(m.JWKS) > 0 && string(m.JWKS) != "null" || m.JWKSURI != ""
	switch m.TokenEndpointAuthMethod {
	case apps.AuthNone:
		reg.Public = true
	case "", apps.AuthClientSecret, "client_secret_post":
		if hasKeys {
			p = append(p, "jwks and jwks_uri go with token_endpoint_auth_method private_key_jwt")
		}
	case apps.AuthPrivateKeyJWT:
		if !hasKeys {
			p = append(p, "token_endpoint_auth_method private_key_jwt needs jwks or jwks_uri")
		}
	default:
		p = append(p, fmt.Sprintf("token_endpoint_auth_method must be none, client_secret_basic, client_secret_post or private_key_jwt, not %q", m.TokenEndpointAuthMethod))
	}
	for _, g := range m.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			p = append(p, fmt.Sprintf("grant_types: %q is not offered (authorization_code and refresh_token are)", g))
		}
	}
	if len(m.GrantTypes) > 0 && !slices.Contains(m.GrantTypes, "authorization_code") {
		p = append(p, "grant_types must include authorization_code")
	}
	for _, r := range m.ResponseTypes {
		if r != "code" {
			p = append(p, fmt.Sprintf("response_types: %q is not offered (code is)", r))
		}
	}
	if strings.TrimSpace(m.ClientName) == "" {
		p = append(p, "client_name is required: members see it on the consent page")
	}
	if _, err := smart.ParseList(m.Scope); err != nil {
		p = append(p, "scope: "+err.Error())
	}
	for _, c := range m.Contacts {
		switch {
		case strings.HasPrefix(c, "tel:") && reg.ContactPhone == "":
			reg.ContactPhone = strings.TrimPrefix(c, "tel:")
		case strings.HasPrefix(c, "tel:"):
		case reg.ContactEmail == "":
			reg.ContactEmail = strings.TrimPrefix(c, "mailto:")
			if _, err := mail.ParseAddress(reg.ContactEmail); err != nil {
				p = append(p, fmt.Sprintf("contacts: %q is neither an email address nor a tel: URI", c))
			}
		}
	}
	if err := reg.Validate(); err != nil {
		p = append(p, describe(err))
	}
	if len(p) > 0 {
		return apps.Registration{}, metadataError("%s", strings.Join(p, "; "))
	}
	return reg, nil
}

// describe returns a registry error's text without its sentinel prefix.
func describe(err error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, apps.ErrInvalid.Error()+": "); ok {
		return rest
	}
	return msg
}

// metadataOf is the metadata the server answers for an app: what it
// registered, in RFC 7591 terms.
func metadataOf(a apps.App) Metadata {
	m := Metadata{
		RedirectURIs: a.RedirectURIs, TokenEndpointAuthMethod: a.AuthMethod(),
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		ClientName: a.Name, ClientURI: a.WebsiteURL, LogoURI: a.LogoURI, Scope: strings.Join(a.Scopes, " "),
		TOSURI: a.TermsURL, PolicyURI: a.PrivacyPolicyURL, JWKSURI: a.JWKSURI, JWKS: a.JWKS,
		DeveloperName: a.Developer, Description: a.Description, WebhookURL: a.WebhookURL,
	}
	if a.ContactEmail != "" {
		m.Contacts = append(m.Contacts, a.ContactEmail)
	}
	if a.ContactPhone != "" {
		m.Contacts = append(m.Contacts, "tel:"+a.ContactPhone)
	}
	if a.Attestation.Status() != apps.AttestationNone {
		att := a.Attestation
		m.PrivacyAttestation = &att
	}
	return m
}
