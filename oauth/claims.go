package oauth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// claims is what the FHIR API's token check needs of an access token. It is
// kept with the token (TokenRecord.Claims) in a small binary form of its own,
// so that checking a token decodes about a hundred bytes instead of the JSON
// projection of the whole fosite request and session.
type claims struct {
	GrantID   string // the OAuth request id, which is the grant's id
	ClientID  string
	Member    string
	Patient   string
	Scopes    []string
	Sensitive bool
	ExpiresAt time.Time // the access token's own expiry
	// IssuedAt is when the token was issued (the request's RequestedAt),
	// and FHIRAudience says that its granted audience is exactly the FHIR
	// base URL: with them introspection answers from the claims as fosite
	// would from the request (serveIntrospect). Zero and false in claims
	// of version 1.
	IssuedAt     time.Time
	FHIRAudience bool
	// Subject is the member's pairwise subject for the client
	// (pairwiseSubject), kept with the claims so that an introspection
	// need not compute it again; not part of the encoding.
	Subject string
	// Signature is the access token's signature (its store key), kept
	// with the claims so that the token's next check need not split the
	// token again; not part of the encoding.
	Signature string
}

// claimsV1 is the first byte of the version-1 encoding:
//
//	0x01, flags (bit 0: sensitive), expiry (uvarint, Unix milliseconds),
//	then grant id, client id, member and patient, each a uvarint length and
//	its bytes, then the scope count (uvarint) and each scope the same way.
//
// A record without claims (stored before they existed) or with another
// version is checked from its request projection instead (claimsOf).
const claimsV1 = 0x01

// claimsV2 is the first byte of the version-2 encoding, the one written:
// version 1 with flag bit 1 (the granted audience is the FHIR base URL)
// and the issue time (uvarint, Unix milliseconds) after the expiry. A
// replica that knows only version 1 reads such a record's projection.
const claimsV2 = 0x02

// claimsV3 is the first byte of the version-3 encoding, the one written:
// version 2 with the scopes as a stored request writes them (table
// indexes, see simpleScopes) instead of their text, which is most of an
// access token's claims and of its record in Redis.
const claimsV3 = 0x03

// maxClaimsFields bounds what decodeClaims accepts, so that a corrupt
// record cannot make it allocate without limit.
const maxClaimsFields = 1 << 10

// errClaimsVersion is the error of claims written in a version this
// gateway does not know (by a newer replica).
var errClaimsVersion = errors.New("token claims: unknown version")

// encode returns the version-3 encoding.
func (c claims) encode() []byte {
	n := 1 + 1 + 2*binary.MaxVarintLen64 + 5*binary.MaxVarintLen32 +
		len(c.GrantID) + len(c.ClientID) + len(c.Member) + len(c.Patient)
	for _, s := range c.Scopes {
		n += binary.MaxVarintLen32 + len(s)
	}
	b := make([]byte, 0, n)
	var flags byte
	if c.Sensitive {
		flags |= 1
	}
	if c.FHIRAudience {
		flags |= 2
	}
	b = append(b, claimsV3, flags)
	b = binary.AppendUvarint(b, uint64(max(c.ExpiresAt.UnixMilli(), 0)))
	b = binary.AppendUvarint(b, uint64(max(c.IssuedAt.UnixMilli(), 0)))
	for _, s := range []string{c.GrantID, c.ClientID, c.Member, c.Patient} {
		b = appendString(b, s)
	}
	return AppendScopes(b, c.Scopes)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeClaims decodes claims; errClaimsVersion for a version it does not
// know, another error for bytes that are not claims.
func decodeClaims(b []byte) (claims, error) {
	if len(b) == 0 {
		return claims{}, errors.New("token claims: empty")
	}
	if b[0] != claimsV1 && b[0] != claimsV2 && b[0] != claimsV3 {
		return claims{}, fmt.Errorf("%w %d", errClaimsVersion, b[0])
	}
	d := claimsDecoder{b: b[1:]}
	flags := d.byte()
	exp := d.uvarint()
	c := claims{Sensitive: flags&1 != 0, ExpiresAt: time.UnixMilli(int64(min(exp, 1<<62)))}
	if b[0] >= claimsV2 {
		c.FHIRAudience = flags&2 != 0
		if iat := d.uvarint(); iat > 0 {
			c.IssuedAt = time.UnixMilli(int64(min(iat, 1<<62)))
		}
	}
	c.GrantID, c.ClientID, c.Member, c.Patient = d.string(), d.string(), d.string(), d.string()
	if b[0] == claimsV3 {
		pd := projDecoder{d}
		c.Scopes = pd.scopes()
		if err := pd.end(); err != nil {
			return claims{}, fmt.Errorf("token claims: %w", err)
		}
		return c, nil
	}
	n := d.uvarint()
	if n > maxClaimsFields {
		return claims{}, errors.New("token claims: too many scopes")
	}
	if n > 0 {
		c.Scopes = make([]string, 0, n)
	}
	for range n {
		c.Scopes = append(c.Scopes, d.string())
	}
	if d.err != nil {
		return claims{}, d.err
	}
	if len(d.b) != 0 {
		return claims{}, errors.New("token claims: trailing bytes")
	}
	return c, nil
}

// claimsDecoder reads the encoding, keeping the first error.
type claimsDecoder struct {
	b   []byte
	err error
}

var errClaimsShort = errors.New("token claims: truncated")

func (d *claimsDecoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail(errClaimsShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *claimsDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errClaimsShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *claimsDecoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail(errClaimsShort)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *claimsDecoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// claimsCacheSize bounds the claims cache: about 400 bytes an entry.
const claimsCacheSize = 4096

// claimsCache keeps the claims of recently checked access tokens, keyed by
// the whole token: a forged token with a known signature never hits it.
// Claims never change for a token, so an entry only spares the HMAC check
// and the store finding the token's request and client (on Redis, a round
// trip); whether the token is still live is read from the store on every
// check. When full, an arbitrary entry makes room.
type claimsCache struct {
	mu sync.Mutex
	m  map[string]claims
}

func (c *claimsCache) get(token string) (claims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[token]
	return v, ok
}

func (c *claimsCache) put(token string, v claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]claims)
	}
	if len(c.m) >= claimsCacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[token] = v
}

func (c *claimsCache) drop(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, token)
}
