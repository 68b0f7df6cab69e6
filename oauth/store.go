package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// TokenKind names one of the five kinds of record fosite asks a store to keep.
type TokenKind string

// The token kinds. Each is keyed by the token's HMAC signature (or, for
// OpenID Connect sessions, by the authorization code signature); the raw
// token is never stored.
const (
	KindCode    TokenKind = "code"
	KindAccess  TokenKind = "access"
	KindRefresh TokenKind = "refresh"
	KindPKCE    TokenKind = "pkce"
	KindOIDC    TokenKind = "oidc"
)

// AllKinds lists every token kind, for revoking everything a request issued.
var AllKinds = []TokenKind{KindCode, KindAccess, KindRefresh, KindPKCE, KindOIDC}

// TokenRecord is what a TokenStore keeps for one token: a small serialized
// projection of the OAuth request, and the few fields the store itself must
// understand to index, expire and deactivate it.
type TokenRecord struct {
	RequestID string    `json:"request_id"` // the OAuth request (and grant) id; tokens are indexed by it
	ClientID  string    `json:"client_id"`
	Active    bool      `json:"active"`     // false once a code is used or a refresh token rotated
	ExpiresAt time.Time `json:"expires_at"` // the token's expiry; see TokenStore about the tail
	// AccessSignature, on a refresh token, is the access token issued with it.
	AccessSignature string `json:"access_signature,omitempty"`
	// Request is the serialized request projection, opaque to the store.
	Request []byte `json:"request"`
	// Claims, on an access token, is the compact form of what the FHIR
	// API's token check needs (see CheckAccess), opaque to the store.
	Claims []byte `json:"claims,omitempty"`
}

// TokenStore keeps token records. Records are found by (kind, signature) and
// indexed by request id. Every record expires: a backend drops it at
// ExpiresAt+InactiveTail, so that a used code or a rotated refresh token is
// still recognised (and its reuse detected) for a while after its expiry.
//
// A record made inactive by DeactivateToken or UseToken (a used code, a
// rotated refresh token) becomes a tombstone: it keeps RequestID,
// ClientID and ExpiresAt, which is what detecting its reuse and revoking
// its grant need, and loses its AccessSignature, Request and Claims. A
// record stored inactive by CreateToken is kept whole.
//
// Multi-key operations are atomic: DeactivateToken is a check-and-set,
// RevokeRequest removes every record of the request or none, and UseToken
// applies all of its changes or none.
type TokenStore interface {
	// CreateToken stores a record and adds it to its request's index.
	CreateToken(ctx context.Context, kind TokenKind, signature string, rec TokenRecord) error
	// GetToken returns the record, active or not, or ErrNotFound when it is
	// absent or past its expiry plus tail.
	GetToken(ctx context.Context, kind TokenKind, signature string) (TokenRecord, error)
	// DeleteToken removes a record; removing a missing record is not an error.
	DeleteToken(ctx context.Context, kind TokenKind, signature string) error
	// DeactivateToken atomically turns an active record inactive and returns
	// it as it was. It returns ErrInactive if the record was already
	// inactive (the caller lost a race or sees a reuse) and ErrNotFound if
	// there is none.
	DeactivateToken(ctx context.Context, kind TokenKind, signature string) (TokenRecord, error)
	// RevokeRequest removes every record of the given kinds issued under
	// requestID. No kinds means all kinds. A request with no records is not
	// an error.
	RevokeRequest(ctx context.Context, requestID string, kinds ...TokenKind) error
	// UseToken is the token endpoint's one write, applied all at once or
	// not at all: it turns the active record (u.Kind, u.Signature)
	// inactive, removes the records u.Drop names and, with u.DropAccess,
	// the access token the used record names (AccessSignature), and stores
	// u.Issue. It returns the used record as it was. If that record is
	// already inactive it changes nothing and returns ErrInactive (with the
	// record); if there is none, ErrNotFound. Every record dropped or
	// issued must belong to the used record's request; otherwise nothing
	// changes and an error is returned.
	UseToken(ctx context.Context, u TokenUse) (TokenRecord, error)
	// CheckAccess reads, in one step, what checking an access token needs:
	// its record, with Claims, Active, ExpiresAt, RequestID and ClientID
	// (Request may be left out when Claims is set), its app (by the
	// record's ClientID) and its grant (by its RequestID); an app or grant
	// that does not exist is the zero value. It returns ErrNotFound when
	// GetToken would. q's RequestID and ClientID, when set, are what the
	// caller already knows of the signature (they never change), so the
	// store may skip finding them.
	CheckAccess(ctx context.Context, q AccessQuery) (AccessCheck, error)
	// CheckAccessAppend is CheckAccess and apps.Store.AppendEvent of each
	// of events in one step (on Redis, one round trip): the FHIR API's
	// call is recorded in the same step that reads whether its token is
	// still live. The events are appended whatever the check finds: the
	// caller judges the check, and withdraws the events (WithdrawEvents)
	// when it refuses the token. It returns the appended events' refs
	// with any error, so that a caller can withdraw what was appended
	// before the step failed.
	CheckAccessAppend(ctx context.Context, q AccessQuery, events []apps.Event) (AccessCheck, EventRefs, error)
	// CheckAccessGated is CheckAccess and the throttling of g (see Gate)
	// in one step (on Redis, one round trip, shared with concurrent
	// checks): an introspection's client-auth throttle, token check and
	// introspection throttle. The gate is judged whatever the check
	// finds, ErrNotFound included; Gated.Judged is false only when the
	// step failed before it could judge it.
	CheckAccessGated(ctx context.Context, q AccessQuery, g Gate) (AccessCheck, Gated, error)
	// WithdrawEvents removes the events CheckAccessAppend appended, from
	// the plan's trail and the member's history: the one exception to
	// events never being removed, for a call that was refused after all.
	// Refs already gone are not an error.
	WithdrawEvents(ctx context.Context, refs EventRefs) error
}

// EventRefs name audit events a store appended (CheckAccessAppend), so
// that it can withdraw them.
type EventRefs []EventRef

// EventRef names one appended event in the store's own terms: the log it
// went to (a Redis stream's key; "" for a store with one log) and its id
// there.
type EventRef struct {
	Log, ID string
}

// AccessQuery names the access token CheckAccess reads.
type AccessQuery struct {
	Signature string
	RequestID string // optional: the record's request id, if known
	ClientID  string // optional: the record's client id, if known
	// KnownClaims says the caller holds the token's claims already (they
	// never change), so the store may leave Record.Claims out of a record
	// that has them; the rest of the check is read as always.
	KnownClaims bool
}

// AccessCheck is what CheckAccess returns.
type AccessCheck struct {
	Record TokenRecord
	App    apps.App
	Grant  apps.Grant
}

// TokenRef names one token record.
type TokenRef struct {
	Kind      TokenKind
	Signature string
}

// IssuedToken is a record UseToken stores.
type IssuedToken struct {
	TokenRef
	Record TokenRecord
}

// TokenUse is what one successful token request writes: the code or
// refresh token it uses up, the records that go with it, and the tokens
// it issues. See TokenStore.UseToken.
type TokenUse struct {
	TokenRef              // the code or refresh token being used
	DropAccess bool       // also remove the access token issued with the used record
	Drop       []TokenRef // other records of the request to remove (a code's PKCE and OpenID sessions)
	Issue      []IssuedToken
}

// InactiveTail is how long a record is kept past its expiry, so that reuse
// of a used code or a rotated refresh token is still detected.
const InactiveTail = 24 * time.Hour

// Member is a local member account that can sign in to the gateway.
type Member struct {
	Username     string `json:"username"`
	DisplayName  string `json:"display_name"`
	PasswordHash string `json:"password_hash"` // an encoded argon2id hash
	PatientID    string `json:"patient_id"`    // the FHIR Patient this member is
}

// MemberStore keeps local member accounts.
type MemberStore interface {
	// PutMember creates or replaces the member.
	PutMember(ctx context.Context, m Member) error
	// GetMember returns the member with that username, or ErrNotFound.
	GetMember(ctx context.Context, username string) (Member, error)
}

// LoginSession is a signed-in member's browser session.
type LoginSession struct {
	ID        string    `json:"id"` // SHA-256 of the random cookie value, hex; the cookie value is never stored
	Member    string    `json:"member"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SessionStore keeps member login sessions until they expire.
type SessionStore interface {
	// PutSession stores a session until its ExpiresAt.
	PutSession(ctx context.Context, s LoginSession) error
	// GetSession returns the session, or ErrNotFound if it is absent or expired.
	GetSession(ctx context.Context, id string) (LoginSession, error)
	// DeleteSession ends a session; deleting a missing one is not an error.
	DeleteSession(ctx context.Context, id string) error
}

// AssertionStore remembers the client assertions (RFC 7523 JWTs of
// private_key_jwt clients) already used, so that each is accepted once
// (RFC 7523 §3, "jti"). Ids are opaque to the store; the caller bounds
// their length.
type AssertionStore interface {
	// UseAssertion records id as used until expiresAt. It is atomic: of
	// concurrent calls with one id exactly one succeeds, the others get
	// ErrUsed, as does any later call before expiresAt. Once expiresAt has
	// passed the id may be forgotten (a backend whose server clock drops
	// it may refuse it until then).
	UseAssertion(ctx context.Context, id string, expiresAt time.Time) error
	// AssertionUsed reports whether id is recorded and not yet expired.
	AssertionUsed(ctx context.Context, id string) (bool, error)
}

// Storage is everything the oauth package needs from a backend.
type Storage interface {
	TokenStore
	MemberStore
	SessionStore
	AssertionStore
	LinkStore
	Limiter
}

// Errors a backend returns; callers test with errors.Is.
var (
	ErrNotFound = errors.New("oauth: not found")
	ErrInactive = errors.New("oauth: record inactive")
	ErrUsed     = errors.New("oauth: already used")
	// ErrUnavailable is apps.ErrUnavailable, the same value, so that a
	// backend marks a failure to reach its storage once for both packages.
	ErrUnavailable = apps.ErrUnavailable
)
