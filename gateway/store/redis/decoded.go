package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
)

// decodedCacheSize bounds the apps and grants kept decoded.
const decodedCacheSize = 4096

// decoded keeps the apps and grants the token check last read, by key,
// decoded, so that an unchanged app or grant is not decoded again: the
// kept value is used (copied). A grant is kept with the bytes it was
// decoded from, and the check compares what Redis answers with them. An
// app is kept with the apps version (appsVersionKey, moved in the same
// step as every change to an app) it was read at, and the check asks Redis
// for that version alone: the app's JSON (about a kilobyte) is read again
// only when the version moved, in a second round trip. Neither read is a
// script, which costs Redis several times a GET. When full, an arbitrary
// entry makes room.
type decoded struct {
	kept bounded[string, *decodedValue] // max decodedCacheSize
}

type decodedValue struct {
	raw     string // a grant's stored form, as read
	version int64  // the apps version an app was read at
	app     apps.App
	grant   apps.Grant
}

// keptValue returns what is kept for key, or nil.
func (d *decoded) keptValue(key string) *decodedValue {
	v, _ := d.kept.get(key)
	return v
}

// pendingGrant is a queued read of a grant, with the value kept when it
// was queued (which a later check may replace meanwhile).
type pendingGrant struct {
	id   string
	key  string
	kept *decodedValue // nil: none
	cmd  *goredis.StringCmd
}

// readGrant queues the read of the grant id at key (arg: key, boxed), or
// shares the batch's.
func (d *decoded) readGrant(ctx context.Context, p goredis.Pipeliner, shared *sharedReads, id, key string, arg any) pendingGrant {
	return pendingGrant{id: id, key: key, kept: d.keptValue(key), cmd: shared.get(ctx, p, arg)}
}

// grant returns the grant the read found; a missing key is the zero grant.
func (d *decoded) grant(r pendingGrant) (apps.Grant, error) {
	raw, err := r.cmd.Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return apps.Grant{}, nil
	case err != nil:
		return apps.Grant{}, err
	case r.kept != nil && r.kept.raw == raw:
		return cloneGrant(r.kept.grant), nil
	}
	g, err := decodeGrant(r.id, []byte(raw))
	if err != nil {
		return apps.Grant{}, err
	}
	d.kept.put(r.key, &decodedValue{raw: raw, grant: g})
	return cloneGrant(g), nil
}

// pendingApp is a queued read of the apps version and, when no app is
// kept for key, of the app itself, in the same pipeline and in that order
// (so the app read is never older than the version it is kept with).
type pendingApp struct {
	key     string
	kept    *decodedValue // nil: none
	version *goredis.StringCmd
	cmd     *goredis.StringCmd // nil: not read
}

// readApp queues the reads of an app at key, or shares the batch's: the
// apps version at versionKey, and the app's JSON when none is kept
// (versionKey and arg, the key, boxed).
func (d *decoded) readApp(ctx context.Context, p goredis.Pipeliner, shared *sharedReads, versionKey any, key string, arg any) pendingApp {
	r := pendingApp{key: key, kept: d.keptValue(key), version: shared.get(ctx, p, versionKey)}
	if r.kept == nil {
		r.cmd = shared.get(ctx, p, arg)
	}
	return r
}

// app returns the app the read found, reading its JSON again through c
// when the apps version moved since it was kept; a missing key is the
// zero app.
func (d *decoded) app(ctx context.Context, c goredis.Cmdable, r pendingApp) (apps.App, error) {
	version, err := r.version.Int64()
	if errors.Is(err, goredis.Nil) {
		version, err = 0, nil
	}
	if err != nil {
		return apps.App{}, fmt.Errorf("apps version: %w", err)
	}
	if r.cmd == nil {
		if r.kept.version == version {
			return cloneApp(r.kept.app), nil
		}
		r.cmd = c.Get(ctx, r.key)
	}
	raw, err := r.cmd.Result()
	var a apps.App
	switch {
	case errors.Is(err, goredis.Nil): // kept too: creating the app moves the version
	case err != nil:
		return apps.App{}, err
	default:
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return apps.App{}, err
		}
	}
	d.kept.put(r.key, &decodedValue{version: version, app: a})
	return cloneApp(a), nil
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
