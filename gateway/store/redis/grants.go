package redis

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// grantV1 is the first byte of a grant's binary form. A grant stored
// before it holds JSON (starting with '{') and is still read.
const grantV1 = 0x01

// The flags of a grant's binary form.
const (
	grantSensitive = 1 << iota
	grantOneTime
	grantRevoked
)

// encodeGrant is what a grant's key holds:
//
//	0x01, flags (1 byte), created, expires and, with grantRevoked,
//	revoked (times: uvarint, 0 for the zero time, else 1 + Unix
//	nanoseconds), then id, member, patient and client id (each a uvarint
//	length and its bytes), then the scopes (oauth.AppendScopes).
//
// The id is written empty: it is in the grant's key, and decodeGrant
// takes it from there (a grant written before kept it, and still reads).
// About a fifth of its JSON: a grant is kept for as long as its member's
// pages show it, and there is one per member and app.
func encodeGrant(g apps.Grant) ([]byte, error) {
	var flags byte
	if g.Sensitive {
		flags |= grantSensitive
	}
	if g.OneTime {
		flags |= grantOneTime
	}
	times := []time.Time{g.CreatedAt, g.ExpiresAt}
	if g.RevokedAt != nil {
		flags |= grantRevoked
		times = append(times, *g.RevokedAt)
	}
	b := make([]byte, 0, 64+len(g.ID)+len(g.Member)+len(g.Patient)+len(g.ClientID)+8*len(g.Scopes))
	b = append(b, grantV1, flags)
	for _, t := range times {
		v, err := timeField(t)
		if err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, v)
	}
	for _, s := range []string{"", g.Member, g.Patient, g.ClientID} {
		b = appendField(b, s)
	}
	return oauth.AppendScopes(b, g.Scopes), nil
}

// timeField is a time as the binary forms write it: 0 for the zero time,
// else 1 + Unix nanoseconds.
func timeField(t time.Time) (uint64, error) {
	if t.IsZero() {
		return 0, nil
	}
	ns := t.UnixNano()
	if ns < 0 || t.After(time.Unix(0, math.MaxInt64-1)) {
		return 0, fmt.Errorf("time %v out of range", t)
	}
	return uint64(ns) + 1, nil
}

// decodeGrant reads a grant in either form; id is its key's, for a grant
// that does not hold it.
func decodeGrant(id string, data []byte) (apps.Grant, error) {
	var g apps.Grant
	if len(data) == 0 || data[0] != grantV1 {
		err := json.Unmarshal(data, &g)
		return g, err
	}
	if len(data) < 2 {
		return g, errors.New("grant truncated")
	}
	flags, b := data[1], data[2:]
	n := 2
	if flags&grantRevoked != 0 {
		n = 3
	}
	times := make([]time.Time, n)
	for i := range times {
		v, k := binary.Uvarint(b)
		if k <= 0 || v > math.MaxInt64 {
			return g, errors.New("grant time malformed")
		}
		if v != 0 {
			times[i] = time.Unix(0, int64(v-1)).UTC()
		}
		b = b[k:]
	}
	g.CreatedAt, g.ExpiresAt = times[0], times[1]
	if flags&grantRevoked != 0 {
		g.RevokedAt = &times[2]
	}
	g.Sensitive, g.OneTime = flags&grantSensitive != 0, flags&grantOneTime != 0
	for _, f := range []*string{&g.ID, &g.Member, &g.Patient, &g.ClientID} {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return g, errors.New("grant malformed")
		}
		*f = string(b[k : k+int(l)])
		b = b[k+int(l):]
	}
	scopes, rest, err := oauth.ReadScopes(b)
	if err != nil {
		return g, err
	}
	if len(rest) != 0 {
		return g, errors.New("grant has trailing bytes")
	}
	g.Scopes = scopes
	if g.ID == "" {
		g.ID = id
	}
	return g, nil
}

// getGrant reads and decodes the grant id at key: apps.ErrNotFound if it
// is absent.
func getGrant(ctx context.Context, c getter, id, key string) (apps.Grant, error) {
	data, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return apps.Grant{}, apps.ErrNotFound
	}
	if err != nil {
		return apps.Grant{}, err
	}
	g, err := decodeGrant(id, data)
	if err != nil {
		return apps.Grant{}, fmt.Errorf("decode: %w", err)
	}
	return g, nil
}
