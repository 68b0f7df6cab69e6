package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
)

// decodedCacheSize bounds the apps and grants kept decoded.
const decodedCacheSize = 4096

// decoded keeps the apps and grants the token check last read, by key,
// with the SHA-1 of the value (JSON, or a grant's binary form) they were
// decoded from. The check asks Redis for the value only if it is no longer
// that (getIfChangedSource), so an
// unchanged app or grant costs neither its bytes on the wire nor decoding
// them again: the kept value is used (copied). When full, an arbitrary
// entry makes room.
type decoded struct {
	mu sync.Mutex
	m  map[string]*decodedValue // never changed once kept
}

type decodedValue struct {
	sum   string // hex SHA-1 of the JSON, as Redis's sha1hex gives it
	app   apps.App
	grant apps.Grant
}

// getIfChangedSource answers 1 when the key's value still has the SHA-1
// the caller holds (ARGV[1], "" for none), else the value (nil if there is
// none). It touches one key, as a Cluster script must.
const getIfChangedSource = `
local v = redis.call('GET', KEYS[1])
if v and ARGV[1] ~= '' and redis.sha1hex(v) == ARGV[1] then return 1 end
return v`

// pendingRead is a queued read of an app or a grant, with the value kept
// when it was queued (which a later check may replace meanwhile).
type pendingRead struct {
	key  string
	kept *decodedValue // nil: none
	cmd  *goredis.Cmd
}

// noValue is the kept value of a key with none.
var noValue = &decodedValue{}

// read queues the read of key's JSON, unless it is still what the kept
// value was decoded from.
func (d *decoded) read(ctx context.Context, p goredis.Pipeliner, key string) pendingRead {
	d.mu.Lock()
	kept := d.m[key]
	d.mu.Unlock()
	if kept == nil {
		kept = noValue
	}
	return pendingRead{key: key, kept: kept, cmd: p.Eval(ctx, getIfChangedSource, []string{key}, kept.sum)}
}

// raw returns the JSON the read answered, or unchanged when the kept value
// is still current; "" for a missing key.
func (r pendingRead) raw() (raw string, unchanged bool, err error) {
	v, err := r.cmd.Result()
	if errors.Is(err, goredis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	switch v := v.(type) {
	case int64:
		return "", r.kept.sum != "", nil
	case string:
		return v, false, nil
	}
	return "", false, fmt.Errorf("unexpected answer %T", v)
}

// app returns the app the read found; a missing key is the zero app.
func (d *decoded) app(r pendingRead) (apps.App, error) {
	raw, unchanged, err := r.raw()
	switch {
	case err != nil:
		return apps.App{}, err
	case unchanged:
		return cloneApp(r.kept.app), nil
	case raw == "":
		return apps.App{}, nil
	}
	var a apps.App
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return apps.App{}, err
	}
	d.put(r.key, &decodedValue{sum: sum(raw), app: a})
	return cloneApp(a), nil
}

// grant returns the grant the read found; a missing key is the zero grant.
func (d *decoded) grant(r pendingRead) (apps.Grant, error) {
	raw, unchanged, err := r.raw()
	switch {
	case err != nil:
		return apps.Grant{}, err
	case unchanged:
		return cloneGrant(r.kept.grant), nil
	case raw == "":
		return apps.Grant{}, nil
	}
	g, err := decodeGrant([]byte(raw))
	if err != nil {
		return apps.Grant{}, err
	}
	d.put(r.key, &decodedValue{sum: sum(raw), grant: g})
	return cloneGrant(g), nil
}

func sum(raw string) string {
	s := sha1.Sum([]byte(raw))
	return hex.EncodeToString(s[:])
}

func (d *decoded) put(key string, v *decodedValue) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[string]*decodedValue)
	}
	if _, ok := d.m[key]; !ok && len(d.m) >= decodedCacheSize {
		for k := range d.m {
			delete(d.m, k)
			break
		}
	}
	d.m[key] = v
}

// cloneApp and cloneGrant copy what a caller could change of a kept value.
func cloneApp(a apps.App) apps.App {
	a.RedirectURIs, a.SecretHash, a.Scopes = slices.Clone(a.RedirectURIs), slices.Clone(a.SecretHash), slices.Clone(a.Scopes)
	a.RegistrationTokenHash = slices.Clone(a.RegistrationTokenHash)
	a.Attestation.Answers = maps.Clone(a.Attestation.Answers)
	return a
}

func cloneGrant(g apps.Grant) apps.Grant {
	g.Scopes = slices.Clone(g.Scopes)
	if g.RevokedAt != nil {
		at := *g.RevokedAt
		g.RevokedAt = &at
	}
	return g
}
