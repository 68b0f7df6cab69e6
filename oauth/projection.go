package oauth

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// requestV2 is the first byte of the compact form of a stored request
// (TokenRecord.Request). A record stored before it holds the JSON of
// storedRequest, which starts with '{', and is still read.
//
// The compact form keeps what fosite and the gateway read back from a
// stored request of that kind of record, and nothing that can be derived:
//
//	0x02, flags (uvarint, the proj* bits), requested_at (time),
//	requested scopes (list), granted scopes (list, unless projSameScopes),
//	requested and granted audience (lists, unless they are the FHIR base
//	alone), the form (uvarint count of members, each its name (string) and
//	values (list); only the members storedFormKeys names for the kind),
//	then the gateway Session: member, patient, fhir user (unless
//	projFHIRUser), grant id (unless projGrantIsRequest), grant scopes
//	(list), grant end (time), subject, username, the expiries (uvarint
//	count, each its token type (1 byte: tokenTypes' index + 1, or 0 and
//	the name) and time), the id_token headers' extra members (JSON) with
//	projHeaders, and with projClaims the id_token claims: jti, iss, sub
//	(unless projClaimsSubject), aud (list), nonce, exp, iat, rat,
//	auth_time (times), at_hash, acr, amr (list), c_hash, and the extra
//	claims (JSON).
//
// An access token's (projAccess) leaves out what its claims
// (TokenRecord.Claims, which it then always has) hold: the granted scopes
// (and the requested ones when they are the same), member, patient and
// its expiry; and what reading it back never uses: the form, the other
// tokens' expiries, the id_token's headers and claims but its issuer.
// After the username it ends with the issuer (with projClaims).
//
// A string is a uvarint length and its bytes, a list a uvarint count and
// its strings (scope lists are written shorter: see simpleScopes), a time
// 0 for the zero time or 1 + Unix nanoseconds. The
// request id and client id are not repeated: they are the record's. The
// client itself is rebuilt from the registry on every read.
const requestV2 = 0x02

// The flags of the compact form.
const (
	projSameScopes     = 1 << iota // granted scopes are the requested ones
	projAudience                   // the requested audience is the FHIR base alone
	projGrantAudience              // the granted audience is the FHIR base alone
	projSession                    // a gateway Session follows
	projGrantIsRequest             // the session's grant id is the request id
	projFHIRUser                   // the fhir user is {FHIR base}/Patient/{patient}
	projSensitive                  // the member shares sensitive records
	projClaimsSubject              // the id_token's sub is the session's subject
	projClaims                     // the session has id_token claims
	projHeaders                    // the session has id_token headers
	projAccess                     // an access token's: what its claims hold is not repeated
)

// storedFormKeys are the members of a request's form kept with each kind
// of record: those that fosite v0.49 reads from a request it loads from
// storage (the redirect URI a code was issued for, its PKCE challenge, and
// what the id_token issued at the code exchange is built from, which
// comes from the code's OpenID Connect record). The rest (the code
// itself, state, the client's credentials, scope, aud, launch…) is not
// kept, and nothing of an access or refresh token's form.
var storedFormKeys = map[TokenKind][]string{
	KindCode: {"redirect_uri"},
	KindPKCE: {"code_challenge", "code_challenge_method"},
	KindOIDC: {"nonce", "max_age", "prompt", "acr_values", "id_token_hint"},
}

// tokenTypes are the expiry keys written as one byte (their index + 1); any
// other is written as 0 and its name.
var tokenTypes = []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken, fosite.AuthorizeCode, fosite.IDToken}

// errTimeRange marks a time the compact form cannot hold (before 1970 or
// after 2262); such a request is stored as JSON.
var errTimeRange = errors.New("time out of the compact range")

// encodeRequest returns what a record of kind keeps of proj: the compact
// form for a request under a gateway Session, JSON (as before it)
// otherwise. An access token's compact form leaves out what its claims
// (TokenRecord.Claims, which it then always has) hold, and what reading
// it back never needs: the id_token's claims but its issuer, the other
// tokens' expiries.
func (s *fositeStore) encodeRequest(kind TokenKind, proj storedRequest) ([]byte, error) {
	if sess, ok := proj.sess.(*Session); ok && sess != nil && sess.DefaultSession != nil {
		b, err := s.compactRequest(kind, proj, sess)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, errTimeRange) {
			return nil, err
		}
	}
	raw, err := json.Marshal(proj.sess)
	if err != nil {
		return nil, err
	}
	proj.Session = raw
	return json.Marshal(proj)
}

// compactRequest is the compact form of proj under sess.
func (s *fositeStore) compactRequest(kind TokenKind, proj storedRequest, sess *Session) ([]byte, error) {
	e := projEncoder{b: make([]byte, 0, 512)}
	aud := []string{s.audience}
	access := kind == KindAccess
	var flags uint64 = projSession
	if access {
		flags |= projAccess
	}
	if slices.Equal(proj.GrantedScopes, proj.RequestedScopes) {
		flags |= projSameScopes
	}
	if slices.Equal(proj.RequestedAudience, aud) {
		flags |= projAudience
	}
	if slices.Equal(proj.GrantedAudience, aud) {
		flags |= projGrantAudience
	}
	if sess.GrantID == proj.ID {
		flags |= projGrantIsRequest
	}
	if sess.FHIRUser == s.fhirUser(sess.Patient) {
		flags |= projFHIRUser
	}
	if sess.Sensitive {
		flags |= projSensitive
	}
	c := sess.Claims
	if c != nil {
		flags |= projClaims
		if c.Subject == sess.Subject {
			flags |= projClaimsSubject
		}
	}
	if sess.Headers != nil {
		flags |= projHeaders
	}
	e.b = append(e.b, requestV2)
	e.b = binary.AppendUvarint(e.b, flags)
	e.time(proj.RequestedAt)
	if !access || flags&projSameScopes == 0 {
		e.scopes(proj.RequestedScopes)
	}
	if !access && flags&projSameScopes == 0 {
		e.scopes(proj.GrantedScopes)
	}
	if flags&projAudience == 0 {
		e.list(proj.RequestedAudience)
	}
	if flags&projGrantAudience == 0 {
		e.list(proj.GrantedAudience)
	}
	var keys []string
	for _, k := range storedFormKeys[kind] {
		if _, ok := proj.Form[k]; ok {
			keys = append(keys, k)
		}
	}
	e.b = binary.AppendUvarint(e.b, uint64(len(keys)))
	for _, k := range keys {
		e.string(k)
		e.list(proj.Form[k])
	}
	if !access {
		e.string(sess.Member)
		e.string(sess.Patient)
	}
	if flags&projFHIRUser == 0 {
		e.string(sess.FHIRUser)
	}
	if flags&projGrantIsRequest == 0 {
		e.string(sess.GrantID)
	}
	e.scopes(sess.GrantScopes)
	e.time(sess.GrantEnds)
	e.string(sess.Subject)
	e.string(sess.Username)
	if access {
		if c != nil {
			e.string(c.Issuer)
		}
		return e.bytes()
	}
	types := make([]string, 0, len(sess.DefaultSession.ExpiresAt))
	for t := range sess.DefaultSession.ExpiresAt {
		types = append(types, string(t))
	}
	slices.Sort(types)
	e.b = binary.AppendUvarint(e.b, uint64(len(types)))
	for _, t := range types {
		if i := slices.Index(tokenTypes, fosite.TokenType(t)); i >= 0 {
			e.b = append(e.b, byte(i+1))
		} else {
			e.b = append(e.b, 0)
			e.string(t)
		}
		e.time(sess.DefaultSession.ExpiresAt[fosite.TokenType(t)])
	}
	if sess.Headers != nil {
		e.json(sess.Headers.Extra)
	}
	if c != nil {
		e.string(c.JTI)
		e.string(c.Issuer)
		if flags&projClaimsSubject == 0 {
			e.string(c.Subject)
		}
		e.list(c.Audience)
		e.string(c.Nonce)
		for _, t := range []time.Time{c.ExpiresAt, c.IssuedAt, c.RequestedAt, c.AuthTime} {
			e.time(t)
		}
		e.string(c.AccessTokenHash)
		e.string(c.AuthenticationContextClassReference)
		e.list(c.AuthenticationMethodsReferences)
		e.string(c.CodeHash)
		e.json(c.Extra)
	}
	return e.bytes()
}

// fhirUser is the absolute URL of a member's Patient resource.
func (s *fositeStore) fhirUser(patient string) string {
	return s.audience + "/Patient/" + patient
}

// errTombstone is the error of a record that keeps no request: a used
// code or a rotated refresh token (see TokenStore).
var errTombstone = errors.New("the record keeps no request")

// decodeRequest reads a record's request, in either form, filling session
// (when not nil) with the stored session. errTombstone for a record that
// keeps none.
func (s *fositeStore) decodeRequest(rec TokenRecord, session fosite.Session) (storedRequest, error) {
	if len(rec.Request) == 0 {
		return storedRequest{}, errTombstone
	}
	if rec.Request[0] != requestV2 {
		var proj storedRequest
		if err := json.Unmarshal(rec.Request, &proj); err != nil {
			return storedRequest{}, err
		}
		if session != nil {
			if err := json.Unmarshal(proj.Session, session); err != nil {
				return storedRequest{}, fmt.Errorf("session: %w", err)
			}
		}
		return proj, nil
	}
	sess, ok := session.(*Session)
	if session != nil && !ok {
		return storedRequest{}, fmt.Errorf("a compact request needs the gateway's session, not %T", session)
	}
	if sess == nil {
		sess = NewSession()
	}
	return s.readCompact(rec, sess)
}

// readCompact decodes the compact form into a projection and sess. It
// fills sess as decoding the JSON form into it does, because fosite reads
// a code twice into the one session and sets the new tokens' expiries in
// between: the stored expiries and the id_token's and its headers' extra
// members are merged into what sess holds, the rest is replaced.
func (s *fositeStore) readCompact(rec TokenRecord, sess *Session) (storedRequest, error) {
	d := projDecoder{claimsDecoder{b: rec.Request[1:]}}
	flags := d.uvarint()
	proj := storedRequest{ID: rec.RequestID, ClientID: rec.ClientID, RequestedAt: d.time()}
	access := flags&projAccess != 0
	var chk claims
	if access {
		c, err := decodeClaims(rec.Claims)
		if err != nil {
			return storedRequest{}, fmt.Errorf("stored access request: %w", err)
		}
		chk = c
		proj.GrantedScopes = c.Scopes
		proj.RequestedScopes = c.Scopes
		if flags&projSameScopes == 0 {
			proj.RequestedScopes = d.scopes()
		}
	} else {
		proj.RequestedScopes = d.scopes()
		proj.GrantedScopes = proj.RequestedScopes
		if flags&projSameScopes == 0 {
			proj.GrantedScopes = d.scopes()
		}
	}
	proj.RequestedAudience, proj.GrantedAudience = []string{s.audience}, []string{s.audience}
	if flags&projAudience == 0 {
		proj.RequestedAudience = d.list()
	}
	if flags&projGrantAudience == 0 {
		proj.GrantedAudience = d.list()
	}
	proj.Form = url.Values{}
	n := d.uvarint()
	if n > maxClaimsFields {
		return storedRequest{}, errors.New("stored request: too many form members")
	}
	for range n {
		k := d.string()
		proj.Form[k] = d.list()
	}
	if flags&projSession == 0 {
		return storedRequest{}, errors.New("stored request: no session")
	}
	if sess.DefaultSession == nil {
		sess.DefaultSession = &openid.DefaultSession{}
	}
	if access {
		sess.Member, sess.Patient = chk.Member, chk.Patient
	} else {
		sess.Member, sess.Patient = d.string(), d.string()
	}
	sess.FHIRUser = s.fhirUser(sess.Patient)
	if flags&projFHIRUser == 0 {
		sess.FHIRUser = d.string()
	}
	sess.GrantID = rec.RequestID
	if flags&projGrantIsRequest == 0 {
		sess.GrantID = d.string()
	}
	sess.GrantScopes = d.scopes()
	sess.GrantEnds = d.time()
	sess.Sensitive = flags&projSensitive != 0
	sess.Subject, sess.Username = d.string(), d.string()
	if sess.DefaultSession.ExpiresAt == nil {
		sess.DefaultSession.ExpiresAt = map[fosite.TokenType]time.Time{}
	}
	if access {
		sess.DefaultSession.ExpiresAt[fosite.AccessToken] = chk.ExpiresAt.UTC()
		if flags&projClaims == 0 {
			sess.Claims = nil
		} else {
			if sess.Claims == nil {
				sess.Claims = &jwt.IDTokenClaims{}
			}
			sess.Claims.Issuer, sess.Claims.Subject = d.string(), sess.Subject
		}
		return proj, d.end()
	}
	n = d.uvarint()
	if n > maxClaimsFields {
		return storedRequest{}, errors.New("stored request: too many expiries")
	}
	for range n {
		var t fosite.TokenType
		switch i := int(d.byte()); {
		case i == 0:
			t = fosite.TokenType(d.string())
		case i <= len(tokenTypes):
			t = tokenTypes[i-1]
		default:
			d.fail(errors.New("unknown token type"))
		}
		sess.DefaultSession.ExpiresAt[t] = d.time()
	}
	if flags&projHeaders == 0 {
		sess.Headers = nil
	} else {
		if sess.Headers == nil {
			sess.Headers = &jwt.Headers{}
		}
		d.json(&sess.Headers.Extra)
	}
	if flags&projClaims == 0 {
		sess.Claims = nil
	} else {
		if sess.Claims == nil {
			sess.Claims = &jwt.IDTokenClaims{}
		}
		c := sess.Claims
		c.JTI, c.Issuer = d.string(), d.string()
		c.Subject = sess.Subject
		if flags&projClaimsSubject == 0 {
			c.Subject = d.string()
		}
		c.Audience = d.list()
		c.Nonce = d.string()
		c.ExpiresAt, c.IssuedAt, c.RequestedAt, c.AuthTime = d.time(), d.time(), d.time(), d.time()
		c.AccessTokenHash = d.string()
		c.AuthenticationContextClassReference = d.string()
		c.AuthenticationMethodsReferences = d.list()
		c.CodeHash = d.string()
		d.json(&c.Extra)
	}
	return proj, d.end()
}

// end is the decoder's error once everything was read: its first error,
// or one for bytes left over.
func (d *projDecoder) end() error {
	if d.err != nil {
		return fmt.Errorf("stored request: %w", d.err)
	}
	if len(d.b) != 0 {
		return errors.New("stored request: trailing bytes")
	}
	return nil
}

// bytes returns the encoding, or the first error.
func (e *projEncoder) bytes() ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

// projEncoder appends the compact form's parts, keeping the first error.
type projEncoder struct {
	b   []byte
	err error
}

func (e *projEncoder) string(s string) { e.b = appendString(e.b, s) }

func (e *projEncoder) list(l []string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(l)))
	for _, s := range l {
		e.string(s)
	}
}

func (e *projEncoder) time(t time.Time) {
	if t.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	if t.Before(time.Unix(0, 0)) || t.After(time.Unix(0, math.MaxInt64-1)) {
		e.err = errTimeRange
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(t.UnixNano())+1)
}

func (e *projEncoder) json(v any) {
	b, err := json.Marshal(v)
	if err != nil && e.err == nil {
		e.err = err
	}
	e.b = appendString(e.b, string(b))
}

// A scope list is written as a uvarint count and each scope as a tag
// byte: 0 and the scope as a string; 1 + an index into simpleScopes; or
// 0x40 + an index into scopeContexts for a scope of the form
// context/Type.rest, followed by Type and rest, each as 1 + an index into
// scopeTypes (scopePerms) or 0 and the string. The tables only grow: an
// index once written keeps its meaning.
var (
	simpleScopes  = []string{"openid", "fhirUser", "profile", "offline_access", "online_access", "launch", "launch/patient", "launch/encounter"}
	scopeContexts = []string{"patient", "user", "system"}
	scopeTypes    = []string{"*", "Patient", "Coverage", "ExplanationOfBenefit", "RelatedPerson", "Organization", "Practitioner",
		"PractitionerRole", "Location", "Medication", "AllergyIntolerance", "CarePlan", "CareTeam", "Condition", "Device",
		"DiagnosticReport", "DocumentReference", "Encounter", "Goal", "Immunization", "MedicationRequest", "Observation",
		"Procedure", "Provenance", "InsurancePlan", "MedicationKnowledge", "List", "Basic"}
	scopePerms = []string{"read", "rs", "*", "write", "r", "s", "cruds", "c", "u", "d", "cud", "search"}
)

// scopeContext is the tag of a context/Type.rest scope.
const scopeContext = 0x40

func (e *projEncoder) scopes(l []string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(l)))
	for _, sc := range l {
		if i := slices.Index(simpleScopes, sc); i >= 0 {
			e.b = append(e.b, byte(1+i))
			continue
		}
		ctx, rest, ok := strings.Cut(sc, "/")
		typ, perm, dot := strings.Cut(rest, ".")
		c := slices.Index(scopeContexts, ctx)
		if !ok || !dot || c < 0 {
			e.b = append(e.b, 0)
			e.string(sc)
			continue
		}
		e.b = append(e.b, byte(scopeContext+c))
		e.indexed(scopeTypes, typ)
		e.indexed(scopePerms, perm)
	}
}

// indexed writes s as 1 + its index in table, or 0 and s.
func (e *projEncoder) indexed(table []string, s string) {
	if i := slices.Index(table, s); i >= 0 && i < 255 {
		e.b = append(e.b, byte(1+i))
		return
	}
	e.b = append(e.b, 0)
	e.string(s)
}

func (d *projDecoder) scopes() []string {
	n := d.uvarint()
	if n > maxClaimsFields {
		d.fail(errors.New("scope list too long"))
		return nil
	}
	if n == 0 || d.err != nil {
		return nil
	}
	l := make([]string, 0, n)
	for range n {
		tag := int(d.byte())
		switch {
		case tag == 0:
			l = append(l, d.string())
		case tag <= len(simpleScopes):
			l = append(l, simpleScopes[tag-1])
		case tag >= scopeContext && tag < scopeContext+len(scopeContexts):
			typ := d.indexed(scopeTypes)
			l = append(l, scopeContexts[tag-scopeContext]+"/"+typ+"."+d.indexed(scopePerms))
		default:
			d.fail(errors.New("unknown scope tag"))
		}
	}
	return l
}

// indexed reads what projEncoder.indexed wrote.
func (d *projDecoder) indexed(table []string) string {
	i := int(d.byte())
	switch {
	case i == 0:
		return d.string()
	case i <= len(table):
		return table[i-1]
	}
	d.fail(errors.New("unknown table index"))
	return ""
}

// projDecoder reads the compact form's parts, keeping the first error.
type projDecoder struct{ claimsDecoder }

func (d *projDecoder) list() []string {
	n := d.uvarint()
	if n > maxClaimsFields {
		d.fail(errors.New("list too long"))
		return nil
	}
	if n == 0 || d.err != nil {
		return nil
	}
	l := make([]string, 0, n)
	for range n {
		l = append(l, d.string())
	}
	return l
}

func (d *projDecoder) time() time.Time {
	v := d.uvarint()
	if v == 0 || v > math.MaxInt64 {
		return time.Time{}
	}
	return time.Unix(0, int64(v-1)).UTC()
}

func (d *projDecoder) json(v any) {
	s := d.string()
	if d.err != nil {
		return
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		d.fail(err)
	}
}

// AppendScopes appends a scope list in the compact form stored requests
// use (see simpleScopes), for a backend that stores scope lists of its own.
func AppendScopes(b []byte, scopes []string) []byte {
	e := projEncoder{b: b}
	e.scopes(scopes)
	return e.b
}

// ReadScopes reads a scope list written by AppendScopes from the start of
// b and returns it with the bytes after it.
func ReadScopes(b []byte) ([]string, []byte, error) {
	d := projDecoder{claimsDecoder{b: b}}
	l := d.scopes()
	if d.err != nil {
		return nil, nil, fmt.Errorf("scope list: %w", d.err)
	}
	return l, d.b, nil
}
