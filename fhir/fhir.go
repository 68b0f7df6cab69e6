package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
)

// Access is what a valid bearer token allows: one patient, some scopes.
type Access struct {
	Patient  string   // FHIR Patient id the token is limited to
	Scopes   []string // granted scopes
	ClientID string
	Member   string // member login name (for audit only)
	// Sensitive is the member's choice on the consent page: share records
	// the plan labels sensitive too (see Handler.Sensitive).
	Sensitive bool
}

// ErrInvalidToken is returned by a TokenChecker when the token is missing,
// unknown, expired or revoked.
var ErrInvalidToken = errors.New("invalid bearer token")

// TokenChecker checks a bearer token. The fhir package declares it; the
// authorization server implements it. ErrUnavailable is answered 503;
// other errors than ErrInvalidToken are a failure of the checker (500),
// never a refusal.
type TokenChecker interface {
	CheckToken(ctx context.Context, token string) (Access, error)
}

// LateChecker is a TokenChecker that can also say what a token allows
// from what it already knows of it (its claims never change), and confirm
// later that the token is still live, in the same store step that records
// the call's audit event. On a LocalSource the Handler then looks in the
// member data first and makes that one step last, before it answers:
// a FHIR call costs one store step instead of two, and still nothing is
// answered (a disclosure or a refusal) for a token that is no longer live.
type LateChecker interface {
	TokenChecker
	// PeekToken returns what token allows, without asking whether it is
	// still live; false when the checker does not know it (CheckToken
	// then decides).
	PeekToken(token string) (Access, bool)
	// CheckAndRecord records e in the same step as the check that token
	// is still live. Nil: it is, and e is recorded. ErrInvalidToken: it is
	// not, and e is not in the audit trail. Any other error (wrapping
	// ErrUnavailable when the store could not be reached): neither is
	// known, and nothing may be answered but 503.
	CheckAndRecord(ctx context.Context, token string, e Event) error
}

// LocalSource is a Source whose reads and searches reach nothing outside
// the gateway's process (the embedded MemorySource), so that the Handler
// may look in it before it has confirmed that the token is still live
// (see LateChecker). A Source that calls another system (an upstream FHIR
// server, where a read is itself an access) must not implement it: the
// token is then checked before the Source is asked anything.
type LocalSource interface {
	Source
	// ReadsStayLocal marks the Source; it does nothing.
	ReadsStayLocal()
}

// FactsSource is a Source that kept the facts of what it returns
// (catalog.Inspect of the very bytes, taken when it stored them), so that
// the Handler, which checks every resource it sends, need not decode each
// one again. Facts reports false for bytes it does not hold; the Handler
// then inspects them itself.
type FactsSource interface {
	Source
	Facts(raw json.RawMessage) (catalog.Facts, bool)
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
	// ClientIP is the address the request came from (Handler.ClientIP),
	// for the member's own access history.
	ClientIP string
}

// Auditor records FHIR access events. A disclosure is recorded before it
// is made: when RecordFHIR fails for a success, nothing is served and the
// client gets 503 (a FHIR disclosure that cannot be recorded is not made).
type Auditor interface {
	RecordFHIR(ctx context.Context, e Event) error
}

// OAuthURIs are the authorization server's endpoints, for the
// CapabilityStatement's oauth-uris extension.
type OAuthURIs struct {
	Authorize, Token, Revoke, Introspect string
}

// ErrNotFound is returned by a Source when a resource does not exist.
var ErrNotFound = errors.New("resource not found")

// Source is where member data comes from: the embedded MemorySource or an
// upstream FHIR server. It returns raw resource JSON, byte for byte. Every
// query carries the access.Constraint it stands for, so a Source can limit
// what it fetches to the member's compartment; whatever a Source returns,
// the Handler checks every resource against that Constraint again before it
// leaves, so a Source bug cannot leak another member's data.
type Source interface {
	// Read returns the resource's JSON, or an error wrapping ErrNotFound.
	Read(ctx context.Context, q ReadQuery) (json.RawMessage, error)
	// Search returns one page of the resources of q.Type in the
	// constraint's compartment (or of a shared type) matching every
	// criterion, and the resources its includes reach.
	Search(ctx context.Context, q Query) (Page, error)
}

// ReadQuery is a read of one resource by id.
type ReadQuery struct {
	Type       *catalog.Type
	ID         string
	Constraint access.Constraint
}

// Query is a search a Source must answer within q.Constraint: for a member
// data type only the records of Constraint.Patient (a Source refuses a
// query without one), for a shared type any record.
type Query struct {
	Type       *catalog.Type
	Constraint access.Constraint
	Criteria   []Criterion     // all must match
	Includes   []catalog.Param // reference parameters of Type to _include
	Count      int             // page size, 1 to MaxCount
	Cursor     string          // a previous Page.Next; "" for the first page
}

// Page is one page of search matches.
type Page struct {
	Entries  []json.RawMessage // the matches, in the Source's order
	Included []json.RawMessage // resources the includes reached
	// EntryFacts and IncludedFacts, when a Source sets them (one for each
	// of Entries and Included), are catalog.Inspect of those very bytes,
	// which the Source read as it parsed them (an upstream's searchset is
	// read in one pass): the Handler checks these rather than read every
	// resource again.
	EntryFacts, IncludedFacts []catalog.Facts
	// body is the pooled buffer an Upstream read the page into, which
	// Entries and Included are slices of (releasePage).
	body *bytes.Buffer
	// Total counts all matches the constraint admits, not only this page
	// (so never a resource it withholds as sensitive); -1 if unknown. A
	// Source that cannot leave withheld resources out itself answers -1
	// whenever Constraint.Withheld is set.
	Total int
	// Next is an opaque cursor to the next page, "" on the last one. The
	// Handler signs it into the next link, bound to the member and search.
	Next string
}

// releasePage gives back the buffer p's resources are in, if a Source
// lent one: once called, nothing may refer to p's resources any more
// (the Bundle built from them has been written).
func releasePage(p Page) {
	releaseBody(p.body)
}

// truncate keeps the page's first n matches (and their facts).
func (p *Page) truncate(n int) {
	if len(p.Entries) > n {
		if len(p.EntryFacts) == len(p.Entries) {
			p.EntryFacts = p.EntryFacts[:n]
		}
		p.Entries = p.Entries[:n]
	}
}

// Errors a Source wraps when the server it reads from fails. The Handler
// answers them as OperationOutcomes with these statuses and a fixed text:
// an upstream's own error text may name another member, so it is logged,
// never passed on.
var (
	// ErrBadGateway: the upstream answered with an error or something that
	// is not usable FHIR (502).
	ErrBadGateway = errors.New("upstream FHIR server gave an unusable answer")
	// ErrGatewayTimeout: the upstream did not answer in time (504).
	ErrGatewayTimeout = errors.New("upstream FHIR server did not answer in time")
	// ErrUnavailable: the upstream is known to be down; the request was not
	// sent (503 with Retry-After). A TokenChecker that cannot decide now
	// (its store is unavailable) returns it too: 503, never a refusal.
	ErrUnavailable = errors.New("member data source is unavailable")
)

// retryAfterSeconds is the Retry-After of a 503.
const retryAfterSeconds = "5"

// sourceStatus maps a Source error to the status and text the app sees.
func sourceStatus(err error) (int, string) {
	switch {
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, "Member data is temporarily unavailable. Try again shortly."
	case errors.Is(err, ErrGatewayTimeout):
		return http.StatusGatewayTimeout, "The member data source did not answer in time."
	case errors.Is(err, ErrBadGateway):
		return http.StatusBadGateway, "The member data source gave an answer that could not be used."
	}
	return http.StatusInternalServerError, ""
}
