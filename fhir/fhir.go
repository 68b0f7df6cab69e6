package fhir

import (
	"context"
	"encoding/json"
	"errors"
)

// Access is what a valid bearer token allows: one patient, some scopes.
type Access struct {
	Patient  string   // FHIR Patient id the token is limited to
	Scopes   []string // granted scopes
	ClientID string
	Member   string // member login name (for audit only)
}

// ErrInvalidToken is returned by a TokenChecker when the token is missing,
// unknown, expired or revoked.
var ErrInvalidToken = errors.New("invalid bearer token")

// TokenChecker checks a bearer token. The fhir package declares it; the
// authorization server implements it. Errors other than ErrInvalidToken are
// treated as the checker being unavailable (500), not as a refusal.
type TokenChecker interface {
	CheckToken(ctx context.Context, token string) (Access, error)
}

// Event is one FHIR access for the audit trail: who, what type, how many,
// and the outcome; never clinical content or resource ids.
type Event struct {
	Action        string // "fhir.read" or "fhir.search"
	Outcome       string // "success", "denied", "not-found", "invalid" (a 400) or "error"
	Patient       string // the token's patient, not the one requested
	ClientID      string
	Member        string
	Reason        string
	ResourceTypes []string
	Count         int // resources returned
}

// Auditor records FHIR access events.
type Auditor interface {
	RecordFHIR(ctx context.Context, e Event)
}

// OAuthURIs are the authorization server's endpoints, for the
// CapabilityStatement's oauth-uris extension.
type OAuthURIs struct {
	Authorize, Token, Revoke, Introspect string
}

// ResourceTypes are the FHIR resource types this server serves, in the
// order the CapabilityStatement lists them. Callers must not modify it; the
// package itself decides support with supported, not with this slice.
var ResourceTypes = []string{"Patient", "Coverage", "ExplanationOfBenefit"}

// supported reports whether the server serves resourceType.
func supported(resourceType string) bool {
	switch resourceType {
	case "Patient", "Coverage", "ExplanationOfBenefit":
		return true
	}
	return false
}

// ErrNotFound is returned by a Source when a resource does not exist.
var ErrNotFound = errors.New("resource not found")

// Source is where member data comes from: the embedded store now, an
// upstream FHIR server later. It returns raw resource JSON; the Handler
// checks every resource it returns against the token's compartment itself,
// so a Source bug cannot leak another member's data.
type Source interface {
	// Read returns the resource's JSON, or an error wrapping ErrNotFound.
	Read(ctx context.Context, resourceType, id string) (json.RawMessage, error)
	// Search returns one page of the resources of resourceType matching q,
	// ordered by meta.lastUpdated descending then id ascending, and the
	// total number of matches.
	Search(ctx context.Context, resourceType string, q Query) (Page, error)
}

// Query is a search a Source must answer. Patient is required: a Source
// must refuse an empty one rather than search every compartment.
type Query struct {
	Patient     string       // the Patient id whose compartment is searched
	IDs         []string     // if set, only these ids (any of them)
	LastUpdated []DateFilter // all must match meta.lastUpdated
	Count       int          // page size; 0 asks for the total only
	Offset      int          // matches to skip
}

// Page is one page of search matches.
type Page struct {
	Entries []json.RawMessage
	Total   int // all matches, not only this page
}
