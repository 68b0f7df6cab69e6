// Package smart is the SMART App Launch scope grammar (v1 and v2): parsing,
// matching a requested scope against allowed ones, deciding whether scopes
// permit an interaction on a resource type, and describing scopes in plain
// words for the consent page. It is pure: no I/O, standard library only.
//
// Reference: SMART App Launch 2.x, "Scopes and Launch Context".
package smart

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Context is the launch context a resource scope applies to.
type Context string

// The three SMART scope contexts.
const (
	ContextPatient Context = "patient"
	ContextUser    Context = "user"
	ContextSystem  Context = "system"
)

// Interaction is one FHIR REST interaction a scope may permit; a set of them
// is a bit mask.
type Interaction uint8

// The interactions of SMART v2 (c r u d s). v1 ".read" means r+s, ".write"
// c+u+d, ".*" all five.
const (
	Create Interaction = 1 << iota
	Read
	Update
	Delete
	Search
)

const allInteractions = Create | Read | Update | Delete | Search

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

// Restricted reports whether the scope carries a v2 search restriction
// (e.g. ?category=…). Permits treats a restricted scope as permitting
// nothing: the FHIR layer must enforce the restriction itself and ask
// PermitsQuery, which checks that the request carries the restriction
// (deny by default).
func (s Scope) Restricted() bool { return len(s.Query) > 0 }

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("malformed scope")

// Parse parses one scope. Unknown non-resource scopes are returned as
// Special; a scope that starts like a resource scope but is malformed is an
// error, as are empty scopes and scopes with characters RFC 6749 §3.3 does
// not allow in a scope-token (whitespace, control, '"', '\\', non-ASCII).
func Parse(raw string) (Scope, error) {
	if raw == "" {
		return Scope{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if !validToken(raw) {
		return Scope{}, fmt.Errorf("%w: %q has a space, quote, backslash, control or non-ASCII character", ErrMalformed, raw)
	}
	ctx, rest, ok := strings.Cut(raw, "/")
	if !ok || !isContext(ctx) {
		return Scope{Raw: raw, Special: raw}, nil
	}
	return parseResource(raw, Context(ctx), rest)
}

// validToken reports whether raw uses only the characters RFC 6749 §3.3
// allows in a scope-token: printable ASCII except space, '"' and '\\'.
func validToken(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func isContext(s string) bool {
	switch Context(s) {
	case ContextPatient, ContextUser, ContextSystem:
		return true
	}
	return false
}

func parseResource(raw string, ctx Context, rest string) (Scope, error) {
	bad := func(why string) (Scope, error) { return Scope{}, fmt.Errorf("%w: %q: %s", ErrMalformed, raw, why) }
	typ, perm, ok := strings.Cut(rest, ".")
	if !ok {
		return bad("no permission after the resource type")
	}
	if !validType(typ) {
		return bad("resource type must be * or a FHIR type name")
	}
	perm, query, hasQuery := strings.Cut(perm, "?")
	s := Scope{Raw: raw, Context: ctx, ResourceType: typ}
	switch perm {
	case "read":
		s.Interactions = Read | Search
	case "write":
		s.Interactions = Create | Update | Delete
	case "*":
		s.Interactions = allInteractions
	default:
		bits, ok := parseV2(perm)
		if !ok {
			return bad("permission must be read, write, * or letters of cruds in order")
		}
		s.Interactions, s.V2 = bits, true
	}
	if hasQuery {
		if !s.V2 {
			return bad("only v2 scopes take a search restriction")
		}
		q, err := parseRestriction(query)
		if err != nil {
			return bad(err.Error())
		}
		s.Query = q
	}
	return s, nil
}

// parseRestriction parses the v2 search restriction after '?'. It must name
// at least one parameter, and every parameter needs a name and a value: a
// restriction that restricts nothing is a mistake, not a wildcard.
func parseRestriction(query string) (url.Values, error) {
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("search restriction is not a valid query: %w", err)
	}
	if len(q) == 0 {
		return nil, errors.New("search restriction is empty")
	}
	for k, vs := range q {
		if k == "" {
			return nil, errors.New("search restriction has a parameter without a name")
		}
		for _, v := range vs {
			if v == "" {
				return nil, fmt.Errorf("search restriction parameter %q has no value", k)
			}
		}
	}
	return q, nil
}

// validType reports whether t is "*" or shaped like a FHIR resource type
// name: ASCII letters only, capital first.
func validType(t string) bool {
	if t == "*" {
		return true
	}
	if t == "" || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for _, r := range t {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// parseV2 reads a non-empty subsequence of "cruds", in that order.
func parseV2(p string) (Interaction, bool) {
	const order = "cruds"
	var bits Interaction
	next := 0
	for i := 0; i < len(p); i++ {
		k := strings.IndexByte(order[next:], p[i])
		if k < 0 {
			return 0, false
		}
		next += k + 1
		bits |= 1 << (next - 1)
	}
	return bits, p != ""
}

// ParseList parses a space-separated scope parameter (RFC 6749 §3.3),
// failing on the first malformed scope with an error that names it. Only
// the space character separates scopes (runs of spaces are tolerated); a tab
// or newline makes the scope around it malformed.
func ParseList(space string) ([]Scope, error) {
	var out []Scope
	for raw := range strings.SplitSeq(space, " ") {
		if raw == "" {
			continue
		}
		s, err := Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("scope list: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}
