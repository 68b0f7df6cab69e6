package redis

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"

	"github.com/patientaccess/gateway/apps"
)

// decodedCacheSize bounds the apps and grants kept decoded.
const decodedCacheSize = 4096

// decoded keeps the apps and grants the token check last read, by key,
// with the JSON they were decoded from. The check reads the JSON from Redis
// every time; when it is byte for byte what was kept, the kept value is
// used (copied) instead of decoding it again. When full, an arbitrary entry
// makes room.
type decoded struct {
	mu sync.Mutex
	m  map[string]decodedValue
}

type decodedValue struct {
	raw   string
	app   apps.App
	grant apps.Grant
}

// app returns the app raw decodes to; raw "" (a missing key) is the zero
// app.
func (d *decoded) app(key, raw string) (apps.App, error) {
	if raw == "" {
		return apps.App{}, nil
	}
	if v, ok := d.get(key, raw); ok {
		return cloneApp(v.app), nil
	}
	var a apps.App
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return apps.App{}, err
	}
	d.put(key, decodedValue{raw: raw, app: a})
	return cloneApp(a), nil
}

// grant returns the grant raw decodes to; raw "" is the zero grant.
func (d *decoded) grant(key, raw string) (apps.Grant, error) {
	if raw == "" {
		return apps.Grant{}, nil
	}
	if v, ok := d.get(key, raw); ok {
		return cloneGrant(v.grant), nil
	}
	g, err := decodeGrant([]byte(raw))
	if err != nil {
		return apps.Grant{}, err
	}
	d.put(key, decodedValue{raw: raw, grant: g})
	return cloneGrant(g), nil
}

func (d *decoded) get(key, raw string) (decodedValue, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.m[key]
	return v, ok && v.raw == raw
}

func (d *decoded) put(key string, v decodedValue) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[string]decodedValue)
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
