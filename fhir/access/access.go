package access

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/oauth/smart"
)

// Outcome is the audit outcome of a decision.
type Outcome string

// The audit outcomes.
const (
	Success  Outcome = "success"
	Denied   Outcome = "denied"
	NotFound Outcome = "not-found"
)

// Issue is the OperationOutcome issue type a refusal is rendered with
// (http://hl7.org/fhir/issue-type).
type Issue string

// The issue types a decision may carry.
const (
	IssueLogin        Issue = "login"
	IssueForbidden    Issue = "forbidden"
	IssueNotSupported Issue = "not-supported"
	IssueNotFound     Issue = "not-found"
)

// Types are the resource types the server serves, by name.
type Types map[string]*catalog.Type

// Request is what the decision needs, gathered by the caller.
type Request struct {
	// Authenticated is true when a valid, active bearer token was presented.
	Authenticated bool
	// Patient is the Patient id the token is limited to ("" if none).
	Patient string
	// Scopes are the token's granted scopes.
	Scopes []string
	// Served are the types the server serves.
	Served Types
	// ResourceType is the type the request names in its path.
	ResourceType string
	// Interaction is smart.Read for read and smart.Search for search-type.
	Interaction smart.Interaction
	// Query is the search as it will run, for a search; nil for a read.
	Query url.Values
	// Sensitive are the security labels the plan marks sensitive records
	// with (configuration).
	Sensitive Labels
	// SensitiveAllowed is the member's choice, made on the consent page and
	// carried by the token: share records with those labels too.
	SensitiveAllowed bool
}

// Decision is the answer: allowed or not, the HTTP status and issue type to
// render a refusal with, a message safe to show the client, the audit
// outcome and reason, and, when allowed, the Constraint every resource the
// request returns must pass.
type Decision struct {
	Allowed bool
	Status  int
	Issue   Issue
	Outcome Outcome
	// Reason says why, for the audit trail and logs; it never carries ids.
	Reason string
	// Message is safe to show the client: it never reveals whether a
	// resource outside the caller's compartment exists.
	Message string
	// Constraint is what an allowed request may see.
	Constraint Constraint
}

// Decide applies the rules in order and returns the first refusal, or an
// allowance carrying the Constraint when every rule passes:
//
//  1. a valid bearer token is required (401);
//  2. the resource type must be one the server serves (404 not-supported);
//  3. the token must carry a patient context (403);
//  4. only read and search are offered (403);
//  5. a patient/ scope must permit the interaction on the type (403); a
//     user/ scope counts as the same patient/ scope (see MemberScopes). A
//     scope with a SMART v2 search restriction permits a search only when
//     the search carries the restriction verbatim (smart.PermitsQuery), and
//     a read only of a resource that matches it (checked by the
//     Constraint once the resource is fetched).
//
// The compartment rule applies to what comes back: see Constraint.Check.
func Decide(r Request) Decision {
	r.Scopes = MemberScopes(r.Scopes)
	typ, served := r.Served[r.ResourceType]
	switch {
	case !r.Authenticated:
		return deny(http.StatusUnauthorized, IssueLogin, Denied, "no valid bearer token", "A valid bearer token is required.")
	case !served:
		return deny(http.StatusNotFound, IssueNotSupported, NotFound, "resource type not supported", "This server does not serve that resource type.")
	case r.Patient == "":
		return deny(http.StatusForbidden, IssueForbidden, Denied, "token has no patient context", "The token is not limited to a patient.")
	case r.Interaction != smart.Read && r.Interaction != smart.Search:
		return deny(http.StatusForbidden, IssueForbidden, Denied, "interaction not allowed", "This interaction is not allowed.")
	}
	c := Constraint{Patient: r.Patient, Scopes: r.Scopes, Served: r.Served, Interaction: r.Interaction}
	if !r.SensitiveAllowed {
		c.Withheld = r.Sensitive
	}
	if !permitsType(r.Scopes, typ.Name, r.Interaction) {
		return deny(http.StatusForbidden, IssueForbidden, Denied, "scope does not cover the request", "The granted scopes do not allow this request.")
	}
	if r.Interaction == smart.Search && !smart.Permits(r.Scopes, smart.ContextPatient, typ.Name, smart.Search) &&
		!smart.PermitsQuery(r.Scopes, smart.ContextPatient, typ.Name, smart.Search, r.Query) {
		return deny(http.StatusForbidden, IssueForbidden, Denied, "search outside the scope's restriction",
			"The granted scopes allow this search only with the parameters "+restrictionText(r.Scopes, typ.Name)+".")
	}
	return Decision{Allowed: true, Status: http.StatusOK, Outcome: Success, Constraint: c}
}

// MemberScopes reads a member's granted scopes as this patient-facing
// server means them: a user/ resource scope (user/ExplanationOfBenefit.read,
// the CARIN test kit's default) grants what the same patient/ scope does.
// The user of a member's token is the member, and what a member may see is
// their own compartment and shared reference data, so user/ never reaches
// further than patient/ here. Other scopes are kept as they are.
//
// When no scope needs reading so, the result is scopes itself (a Decision
// is made on every FHIR call: this spares it a copy).
func MemberScopes(scopes []string) []string {
	if !slices.ContainsFunc(scopes, func(s string) bool { return strings.HasPrefix(s, string(smart.ContextUser)+"/") }) {
		return scopes
	}
	out := make([]string, 0, len(scopes))
	for _, raw := range scopes {
		if rest, ok := strings.CutPrefix(raw, string(smart.ContextUser)+"/"); ok {
			if s, err := smart.Parse(raw); err == nil && s.IsResource() {
				raw = string(smart.ContextPatient) + "/" + rest
			}
		}
		out = append(out, raw)
	}
	return out
}

// permitsType reports whether some scope, restricted or not, grants the
// interaction on the type.
func permitsType(scopes []string, typ string, i smart.Interaction) bool {
	for _, raw := range scopes {
		s, err := smart.Parse(raw)
		if err != nil {
			continue
		}
		unrestricted := s
		unrestricted.Query = nil
		if unrestricted.Permits(smart.ContextPatient, typ, i) {
			return true
		}
	}
	return false
}

// restrictionText lists the restrictions of the scopes on typ, for the
// refusal message: "type=http://x|pharmacy" or "a=1 or b=2".
func restrictionText(scopes []string, typ string) string {
	var alts []string
	for _, q := range Restrictions(scopes, typ, smart.Search) {
		var parts []string
		for k, vs := range q {
			for _, v := range vs {
				parts = append(parts, k+"="+v)
			}
		}
		sort.Strings(parts)
		alts = append(alts, strings.Join(parts, "&"))
	}
	return strings.Join(alts, " or ")
}

// Restrictions returns the search restrictions of the patient/ scopes that
// grant interaction i on typ only under a restriction. It is empty when no
// scope restricts typ.
func Restrictions(scopes []string, typ string, i smart.Interaction) []url.Values {
	var out []url.Values
	for _, raw := range scopes {
		s, err := smart.Parse(raw)
		if err != nil || !s.Restricted() || s.Context != smart.ContextPatient ||
			(s.ResourceType != "*" && s.ResourceType != typ) || s.Interactions&i != i {
			continue
		}
		out = append(out, s.Query)
	}
	return out
}

// notFoundMessage is shared by missing resources and resources outside the
// compartment, so the two answers are identical.
const notFoundMessage = "Resource not found."

// Missing is the decision for a read of a resource that does not exist or
// that the Constraint does not admit: both render the same.
func Missing() Decision {
	return deny(http.StatusNotFound, IssueNotFound, NotFound, "resource not found", notFoundMessage)
}

func deny(status int, issue Issue, outcome Outcome, reason, message string) Decision {
	return Decision{Status: status, Issue: issue, Outcome: outcome, Reason: reason, Message: message}
}

// Constraint is what one allowed request may see: the member's own records
// and shared reference data, of types the server serves and the scopes
// grant. The Source query carries it, so a Source can restrict what it
// fetches, and every resource that comes back, whatever the Source, is
// checked against it before it leaves.
type Constraint struct {
	// Patient is the member's Patient id.
	Patient string
	// Scopes are the token's granted scopes.
	Scopes []string
	// Served are the types the server serves.
	Served Types
	// Interaction is the request's: read, or search (whose results, and
	// the resources it includes, are covered by the search permission).
	Interaction smart.Interaction
	// Withheld are the security labels whose resources this request may
	// not see: the plan's sensitive labels, unless the member opted in.
	Withheld Labels
}

// Matcher reports whether a resource satisfies every parameter of a search
// restriction; the FHIR layer evaluates it on the resource's JSON.
type Matcher func(restriction url.Values) bool

// Why a Constraint refuses a resource. The errors are for logs and audit;
// clients see a missing resource.
var (
	ErrNotServed          = errors.New("resource type not served")
	ErrOutsideCompartment = errors.New("resource outside the patient compartment")
	ErrNotGranted         = errors.New("no granted scope covers the resource")
	// ErrWithheld: the resource carries a sensitive label the member did
	// not choose to share. A read answers it as a missing resource; a
	// search leaves it out.
	ErrWithheld = errors.New("sensitive resource withheld")
)

// Check admits or refuses one resource about to be sent, in order:
//
//  1. its type must be served;
//  2. member data must be in the Patient's compartment (its owner element
//     names exactly that Patient); shared reference data has no owner;
//  3. it must not carry a label of Withheld (meta.security);
//  4. a patient/ scope must grant the interaction on the type without a
//     restriction, or with one the resource matches (match).
func (c Constraint) Check(f catalog.Facts, match Matcher) error {
	typ, ok := c.Served[f.Type]
	switch {
	case !ok:
		return ErrNotServed
	case typ.Kind == catalog.MemberData && (c.Patient == "" || f.Patient != c.Patient):
		return ErrOutsideCompartment
	case c.Withholds(f):
		return ErrWithheld
	case smart.Permits(c.Scopes, smart.ContextPatient, f.Type, c.Interaction):
		return nil
	}
	for _, q := range Restrictions(c.Scopes, f.Type, c.Interaction) {
		if match != nil && match(q) {
			return nil
		}
	}
	return ErrNotGranted
}
