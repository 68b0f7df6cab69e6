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
// the writing of the issued ones. The used record, if inline, becomes a
// tombstone in the used hash; with DropAccess its access token's record
// (named in its header) is removed too. It returns nil if there is no
// used record; {0, form, value} if it was already inactive (nothing
// changed); {2, form, value} if it is in a key of its own and its access
// token is to be dropped, whose own key the caller must then name (nothing
// changed); else {1, form, value, the dropped access signature or ""}.
// KEYS: index, used, the used record's own key, the nd dropped records'
// own keys, and last, when ARGV[4] names it, the access record's own key.
// ARGV: the used record's member, oauth.InactiveTail (ms), the retirement
// deadline (ms): the used record is kept no later than that (see
// UseToken); "0", "1" to drop the access record named in the used record,
// or the member of that record (its own key declared); nd and the drop
// members; then for each issued record its member, encodeInline's form and
// deadline (ms).
var useScript = goredis.NewScript(tokenLua + `
to_hash(KEYS[1])
local m, tail, last, access, nd = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local form, was, asig = 1, inline_get(KEYS[1], m), ''
if was then
  if string.byte(was, 2) ~= 1 then return {0, 1, was} end
  local rec = inline_rec(was)
  retire_inline(KEYS[1], KEYS[2], m, rec, math.min(rec_deadline(rec, tail), last))
  if access == '1' then
    asig = access_sig(rec)
    if asig ~= '' then redis.call('HDEL', KEYS[1], 'access:' .. asig) end
  end
else
  local u = redis.call('HGET', KEYS[2], m)
  if u then return {0, 2, u} end
  local r = redis.call('HMGET', KEYS[3], 'rec', 'active')
  if not r[1] then return false end
  if r[2] ~= '1' then return {0, 3, r[1]} end
  if access == '1' then return {2, 3, r[1]} end
  form, was = 3, r[1]
  redis.call('HSET', KEYS[3], 'active', '0')
  retire(KEYS[3], was)
  local left = redis.call('PTTL', KEYS[3])
  if left < 0 or now_ms() + left > last then redis.call('PEXPIREAT', KEYS[3], last) end
  if access ~= '0' then
    redis.call('DEL', KEYS[#KEYS])
    redis.call('HDEL', KEYS[1], access)
  end
end
for i = 1, nd do
  redis.call('DEL', KEYS[3 + i])
  redis.call('HDEL', KEYS[1], ARGV[5 + i])
  redis.call('HDEL', KEYS[2], ARGV[5 + i])
end
for a = 6 + nd, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[a], ARGV[a + 1])
  extend(KEYS[1], tonumber(ARGV[a + 2]))
end
return {1, form, was, asig}`)

// UseToken applies u all at once. The used record (a code, or a rotated
// refresh token) is kept only oauth.InactiveTail from now, when its own
// deadline is later: long enough to detect its reuse, not for the rest of
// a 90-day refresh lifetime. In one pipeline it reads the pointers of the
// used and dropped records and writes the pointers of the issued ones,
// then runs useScript (which finds the access token to drop in the used
// record itself); a refresh, whose issued records name the request and
// which drops nothing else, reads no pointer and sends the pointers and
// the script in one pipeline (issuedRequest). Then it moves or deletes
// the pointers of what the script retired or dropped. Pointers without a record read as not found, so
// until the script runs nothing visible has changed, and a failure at any
// point before it leaves the used token usable for a retry. If the
// script does not succeed, the new pointers are removed again.
func (s *Store) UseToken(ctx context.Context, u oauth.TokenUse) (oauth.TokenRecord, error) {
	issue := make([]any, 0, 3*len(u.Issue))
	pointers := make([]string, len(u.Issue))
	for i, is := range u.Issue {
		data, err := encodeInline(is.Record)
		if err != nil {
			return oauth.TokenRecord{}, fmt.Errorf("redis: use %s token: encode: %w", u.Kind, err)
		}
		issue = append(issue, member(is.Kind, is.Signature), data, tokenDeadline(is.Record))
		pointers[i] = s.pointerKey(is.Kind, is.Signature)
	}
	requestID, direct := issuedRequest(u)
	if !direct {
		var err error
		requestID, err = s.useTargets(ctx, u, pointers)
		if err != nil {
			s.dropPointers(context.WithoutCancel(ctx), pointers) // best effort: they point at nothing
			return oauth.TokenRecord{}, fmt.Errorf("redis: use %s token: %w", u.Kind, err)
		}
	}
	m := member(u.Kind, u.Signature)
	keys := []string{s.indexKey(requestID), s.usedKey(requestID), s.ownKey(requestID, m)}
	retire := ceilMilli(s.now().Add(oauth.InactiveTail))
	args := []any{m, oauth.InactiveTail.Milliseconds(), retire, cond(u.DropAccess, "1") + cond(!u.DropAccess, "0"), len(u.Drop)}
	for _, d := range u.Drop {
		keys = append(keys, s.ownKey(requestID, member(d.Kind, d.Signature)))
		args = append(args, member(d.Kind, d.Signature))
	}
	args = append(args, issue...)
	var res []any
	var err error
	if direct {
		res, err = s.pointAndUse(ctx, u, pointers, keys, args)
	} else {
		res, err = useScript.Run(ctx, s.c, keys, args...).Slice()
	}
	var accessSig string
	if err == nil && res[0] == int64(2) {
		// A record of an older gateway's, in a key of its own: so is
		// its access token's, which the script must be given.
		data, _ := res[2].(string)
		rec, perr := parseRecord(data, requestID)
		if perr != nil {
			err = fmt.Errorf("decode: %w", perr)
		} else {
			accessSig = rec.AccessSignature
			args[3] = "0"
			if accessSig != "" {
				args[3] = member(oauth.KindAccess, accessSig)
				keys = append(keys, s.ownKey(requestID, member(oauth.KindAccess, accessSig)))
			}
			res, err = useScript.Run(ctx, s.c, keys, args...).Slice()
		}
	}
	if err != nil || res[0] != int64(1) {
		s.dropPointers(context.WithoutCancel(ctx), pointers) // best effort: they point at nothing
	}
	rec, err := s.used(u.Kind, requestID, res, err)
	if err != nil {
		return rec, err
	}
	if sig, _ := res[3].(string); sig != "" {
		accessSig = sig
	}
	// The used record now goes at retire, so does its pointer, and the
	// pointers of the records dropped go now (best effort: a pointer
	// without its record reads as not found, and expires).
	// Shared with concurrent callers (see batcher).
	bg := context.WithoutCancel(ctx)
	_ = s.batch.pipelined(bg, func(p goredis.Pipeliner) {
		if tokenDeadline(rec) > retire {
			p.PExpireAt(bg, s.pointerKey(u.Kind, u.Signature), time.UnixMilli(retire))
		}
		for _, d := range u.Drop {
			p.Del(bg, s.pointerKey(d.Kind, d.Signature))
		}
		if accessSig != "" {
			p.Del(bg, s.pointerKey(oauth.KindAccess, accessSig))
		}
	})
	return rec, nil
}

// issuedRequest returns the request of the records u issues when UseToken
// need not read the used record's pointer to learn it: every issued record
// belongs to that one request, and there is nothing else to drop (a
// refresh). The script then looks for the used record in that request
// only, so a token of another request is not found there: the use fails
// as it would have with the pointer read.
func issuedRequest(u oauth.TokenUse) (string, bool) {
	if len(u.Issue) == 0 || len(u.Drop) > 0 {
		return "", false
	}
	id := u.Issue[0].Record.RequestID
	for _, is := range u.Issue[1:] {
		if is.Record.RequestID != id {
			return "", false
		}
	}
	return id, id != ""
}

// pointAndUse writes the issued records' pointers and runs useScript in
// one pipeline, shared with concurrent callers (see batcher): the pointers
// go first, and point at nothing until the script has stored the records.
// A script Redis does not hold yet (NOSCRIPT) is sent again by
// Script.Run, which loads it.
func (s *Store) pointAndUse(ctx context.Context, u oauth.TokenUse, pointers []string, keys []string, args []any) ([]any, error) {
	sets := make([]*goredis.Cmd, len(u.Issue))
	var use *goredis.Cmd
	err := s.batch.pipelined(ctx, func(p goredis.Pipeliner) {
		for i, is := range u.Issue {
			sets[i] = p.Do(ctx, "SET", pointers[i], pointerValue(is.Record), "PXAT", tokenDeadline(is.Record))
		}
		use = useScript.EvalSha(ctx, p, keys, args...)
	})
	if roundTripFailed(err) {
		return nil, err // the commands may hold no error of their own
	}
	for _, c := range sets {
		if err := c.Err(); err != nil {
			return nil, err
		}
	}
	if goredis.HasErrorPrefix(use.Err(), "NOSCRIPT") {
		return useScript.Run(ctx, s.c, keys, args...).Slice()
	}
	return use.Slice()
}

// useTargets reads, in one pipeline with the writing of the issued
// records' pointers, the pointers of the used record (its request:
// oauth.ErrNotFound if there is none) and of the records to drop, and
// checks that every dropped and issued record belongs to that request.
func (s *Store) useTargets(ctx context.Context, u oauth.TokenUse, pointers []string) (string, error) {
	refs := append([]oauth.TokenRef{u.TokenRef}, u.Drop...)
	cmds := make([]*goredis.StringCmd, len(refs))
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, r := range refs {
			cmds[i] = p.Get(ctx, s.pointerKey(r.Kind, r.Signature))
		}
		for i, is := range u.Issue {
			p.Do(ctx, "SET", pointers[i], pointerValue(is.Record), "PXAT", tokenDeadline(is.Record))
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return "", err
	}
	requestID, _ := parsePointer(cmds[0].Val())
	if requestID == "" {
		return "", oauth.ErrNotFound
	}
	for i, c := range cmds[1:] {
		if id, _ := parsePointer(c.Val()); id != "" && id != requestID {
			return "", fmt.Errorf("%s record %s belongs to another request", refs[i+1].Kind, refs[i+1].Signature)
		}
	}
	for _, is := range u.Issue {
		if is.Record.RequestID != requestID {
			return "", fmt.Errorf("issued %s belongs to another request", is.Kind)
		}
	}
	return requestID, nil
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
	form, _ := res[1].(int64)
	data, _ := res[2].(string)
	rec, err := s.decodeRecord(kind, form, data, requestID, won == 1)
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
