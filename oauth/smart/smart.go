// Package smart is the SMART App Launch scope grammar (v1 and v2): parsing,
// matching a requested scope against allowed ones, deciding whether scopes
// permit an interaction on a resource type, and describing scopes in plain
// words for the consent page. It is pure: no I/O, standard library only.
package smart

// CONTRACT STUB: the bodies below are being written; the signatures are fixed.

import "net/url"

// Context is the launch context a resource scope applies to.
type Context string

// The three SMART scope contexts.
const (
	ContextPatient Context = "patient"
	ContextUser    Context = "user"
	ContextSystem  Context = "system"
)

// Interaction is one FHIR REST interaction a scope may permit.
type Interaction uint8

// The interactions of SMART v2 (c r u d s). v1 ".read" means r+s, ".write" c+u+d, "*" all.
const (
	Create Interaction = 1 << iota
	Read
	Update
	Delete
	Search
)

// Scope is one parsed scope.
type Scope struct {
	Raw string // the scope exactly as given
	// For resource scopes (patient/…, user/…, system/…):
	Context      Context     // empty for non-resource scopes
	ResourceType string      // a FHIR type or "*"
	Interactions Interaction // bit set of permitted interactions
	V2           bool        // written in v2 syntax (.cruds)
	Query        url.Values  // v2 search restriction after '?', nil if none
	// For everything else (openid, fhirUser, launch/patient, offline_access…):
	Special string // the scope itself; empty for resource scopes
}

// IsResource reports whether s is a resource scope.
func (s Scope) IsResource() bool { return s.Context != "" }

// Parse parses one scope. Unknown non-resource scopes are returned as
// Special; malformed resource scopes are an error.
func Parse(raw string) (Scope, error) { panic("not implemented") }

// Permits reports whether s permits interaction i on resourceType in context c.
func (s Scope) Permits(c Context, resourceType string, i Interaction) bool { panic("not implemented") }

// Permits reports whether any of the raw scopes permits interaction i on
// resourceType in context c. Malformed scopes permit nothing.
func Permits(scopes []string, c Context, resourceType string, i Interaction) bool {
	panic("not implemented")
}

// Covers reports whether allowed grants at least everything requested does:
// same context (or wider), same type or "*", a superset of interactions,
// and no search restriction that requested lacks.
func Covers(allowed, requested Scope) bool { panic("not implemented") }

// Strategy is a fosite.ScopeStrategy: it reports whether needle is covered
// by any scope in haystack (exact match for non-resource scopes).
func Strategy(haystack []string, needle string) bool { panic("not implemented") }

// Describe says in plain words what a scope lets an app do, for the
// consent page, e.g. "Read and search your claims and explanations of benefits".
func Describe(raw string) string { panic("not implemented") }
