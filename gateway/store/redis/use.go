package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/oauth"
)

// useScript is UseToken's one atomic step, in the request's slot: the
// check-and-set of the used record, the removal of the dropped records and
// the writing of the issued ones; then the index is written anew
// (compact), so that it returns to Redis's compact encoding once a code's
// OpenID record has left it. It returns nil if there is no used
// record, {0, rec} if it was already inactive (nothing changed), else
// {1, rec}.
// KEYS: index, used record, the nd records to drop, the issued records.
// ARGV: nd, the index members of the drops, then for each issued record
// its index member, JSON, active flag, deadline (ms), claims (may be
// empty) and expiry (ms), and last the retirement deadline (ms): the used
// record is kept no later than that (see UseToken).
var useScript = goredis.NewScript(extendIndexLua + retireLua + indexLua + `
local v = redis.call('HMGET', KEYS[2], 'rec', 'active')
if not v[1] then return false end
if v[2] ~= '1' then return {0, v[1]} end
redis.call('HSET', KEYS[2], 'active', '0')
retire(KEYS[2], v[1])
local retire = tonumber(ARGV[#ARGV])
local left = redis.call('PTTL', KEYS[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if left < 0 or now + left > retire then redis.call('PEXPIREAT', KEYS[2], retire) end
local nd = tonumber(ARGV[1])
for i = 1, nd do
  redis.call('DEL', KEYS[2 + i])
  idx_rem(KEYS[1], ARGV[1 + i])
end
local a = 2 + nd
for i = 3 + nd, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('HSET', KEYS[i], 'rec', ARGV[a + 1], 'active', ARGV[a + 2])
  if ARGV[a + 4] ~= '' then redis.call('HSET', KEYS[i], 'chk', ARGV[a + 4], 'exp', ARGV[a + 5]) end
  redis.call('PEXPIREAT', KEYS[i], ARGV[a + 3])
  idx_add(KEYS[1], ARGV[a])
  extend(KEYS[1], tonumber(ARGV[a + 3]))
  a = a + 6
end
compact(KEYS[1])
return {1, v[1]}`)

// UseToken applies u all at once. The used record (a code, or a rotated
// refresh token) is kept only oauth.InactiveTail from now, when its own
// deadline is later: long enough to detect its reuse, not for the rest of
// a 90-day refresh lifetime. It reads the pointers (and, with
// DropAccess, the used record's access signature), writes the pointers of
// the issued records, then runs useScript. Pointers without a record read
// as not found, so until the script runs nothing visible has changed, and
// a failure at any point before it leaves the used token usable for a
// retry. If the script refuses, the new pointers are removed again.
func (s *Store) UseToken(ctx context.Context, u oauth.TokenUse) (oauth.TokenRecord, error) {
	requestID, drop, err := s.useTargets(ctx, u)
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: use %s token: %w", u.Kind, err)
	}
	keys := []string{s.indexKey(requestID), s.recordPrefix(requestID) + member(u.Kind, u.Signature)}
	args := []any{len(drop)}
	for _, d := range drop {
		keys = append(keys, s.recordPrefix(requestID)+member(d.Kind, d.Signature))
		args = append(args, member(d.Kind, d.Signature))
	}
	pointers := make([]string, len(u.Issue))
	for i, is := range u.Issue {
		data, err := encodeRecord(is.Record)
		if err != nil {
			return oauth.TokenRecord{}, fmt.Errorf("redis: use %s token: encode: %w", u.Kind, err)
		}
		m := member(is.Kind, is.Signature)
		keys = append(keys, s.recordPrefix(requestID)+m)
		args = append(args, m, data, activeFlag(is.Record.Active), tokenDeadline(is.Record),
			is.Record.Claims, is.Record.ExpiresAt.UnixMilli())
		pointers[i] = s.pointerKey(is.Kind, is.Signature)
	}
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, is := range u.Issue {
			p.Do(ctx, "SET", pointers[i], pointerValue(is.Record), "PXAT", tokenDeadline(is.Record))
		}
		return nil
	})
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: use %s token: issue pointers: %w", u.Kind, err)
	}
	retire := ceilMilli(s.now().Add(oauth.InactiveTail))
	args = append(args, retire)
	res, err := useScript.Run(ctx, s.c, keys, args...).Slice()
	if err != nil || res[0] != int64(1) {
		s.dropPointers(context.WithoutCancel(ctx), pointers) // best effort: they point at nothing
	}
	rec, err := s.used(u.Kind, requestID, res, err)
	if err == nil {
		// The used record now goes at retire, so does its pointer, and
		// the pointers of the records dropped go now (best effort: a
		// pointer without its record reads as not found, and expires).
		bg := context.WithoutCancel(ctx)
		_, _ = s.c.Pipelined(bg, func(p goredis.Pipeliner) error {
			if tokenDeadline(rec) > retire {
				p.PExpireAt(bg, s.pointerKey(u.Kind, u.Signature), time.UnixMilli(retire))
			}
			for _, d := range drop {
				p.Del(bg, s.pointerKey(d.Kind, d.Signature))
			}
			return nil
		})
	}
	return rec, err
}

// useTargets checks what UseToken is asked to do against the store: the
// used record's request (oauth.ErrNotFound if there is none), that every
// dropped and issued record belongs to it, and the full list of records
// to drop (the used record's access token added for DropAccess).
func (s *Store) useTargets(ctx context.Context, u oauth.TokenUse) (string, []oauth.TokenRef, error) {
	refs := append([]oauth.TokenRef{u.TokenRef}, u.Drop...)
	cmds := make([]*goredis.StringCmd, len(refs))
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, r := range refs {
			cmds[i] = p.Get(ctx, s.pointerKey(r.Kind, r.Signature))
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return "", nil, err
	}
	requestID, _ := parsePointer(cmds[0].Val())
	if requestID == "" {
		return "", nil, oauth.ErrNotFound
	}
	var drop []oauth.TokenRef
	for i, c := range cmds[1:] {
		if id, _ := parsePointer(c.Val()); id != "" && id != requestID {
			return "", nil, fmt.Errorf("%s record %s belongs to another request", refs[i+1].Kind, refs[i+1].Signature)
		}
		drop = append(drop, refs[i+1])
	}
	for _, is := range u.Issue {
		if is.Record.RequestID != requestID {
			return "", nil, fmt.Errorf("issued %s belongs to another request", is.Kind)
		}
	}
	if !u.DropAccess {
		return requestID, drop, nil
	}
	data, err := s.c.HGet(ctx, s.recordPrefix(requestID)+member(u.Kind, u.Signature), "rec").Result()
	if errors.Is(err, goredis.Nil) {
		return "", nil, oauth.ErrNotFound
	}
	if err != nil {
		return "", nil, err
	}
	rec, err := parseRecord(data, requestID)
	if err != nil {
		return "", nil, fmt.Errorf("decode: %w", err)
	}
	if rec.AccessSignature != "" {
		drop = append(drop, oauth.TokenRef{Kind: oauth.KindAccess, Signature: rec.AccessSignature})
	}
	return requestID, drop, nil
}

// used turns useScript's answer into UseToken's result.
func (s *Store) used(kind oauth.TokenKind, requestID string, res []any, err error) (oauth.TokenRecord, error) {
	if errors.Is(err, goredis.Nil) {
		return oauth.TokenRecord{}, fmt.Errorf("redis: use %s token: %w", kind, oauth.ErrNotFound)
	}
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: use %s token: %w", kind, err)
	}
	won, _ := res[0].(int64)
	data, _ := res[1].(string)
	rec, err := s.decodeRecord(kind, data, requestID, won == 1)
	if err != nil {
		return oauth.TokenRecord{}, err
	}
	if won != 1 {
		return rec, fmt.Errorf("redis: use %s token: %w", kind, oauth.ErrInactive)
	}
	return rec, nil
}

// dropPointers deletes pointer keys one by one: they live in different
// Cluster slots.
func (s *Store) dropPointers(ctx context.Context, keys []string) {
	_, _ = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, k)
		}
		return nil
	})
}

func activeFlag(active bool) string {
	if active {
		return "1"
	}
	return "0"
}
