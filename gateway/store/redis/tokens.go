package redis

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// extendIndexLua defines extend(index, deadline): make the index live at
// least until deadline (ms), so it outlives every record it lists.
const extendIndexLua = `
local function extend(index, deadline)
  local cur = redis.pcall('PEXPIRETIME', index)
  if type(cur) ~= 'number' then -- before Redis 7.0: derive it from PTTL
    cur = redis.call('PTTL', index)
    if cur >= 0 then
      local t = redis.call('TIME')
      cur = cur + tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    end
  end
  if cur < deadline then redis.call('PEXPIREAT', index, deadline) end
end
`

// retireLua defines retire(key, rec): what is kept of a record once it is
// used up (a tombstone). A record in the binary form keeps only the part
// of its header a tombstone needs (its expiry and client; its request is
// in its key), not its access signature, request or claims; the hash is
// written anew, so that Redis keeps it in its compact encoding (a hash
// that once held a long value stays in the large one), with the same
// expiry. A JSON record (stored by an older gateway) only loses its claims.
const retireLua = `
local function retire(key, rec)
  if string.byte(rec, 1) == 2 then
    local ttl = redis.call('PTTL', key)
    local tomb = string.sub(rec, 1, 2) .. '\0\0' .. string.sub(rec, 5, 4 + string.byte(rec, 2))
    redis.call('DEL', key)
    redis.call('HSET', key, 'rec', tomb, 'active', '0')
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
  else
    redis.call('HDEL', key, 'chk', 'exp')
  end
end
`

// indexLua defines the request index's operations. The index is a hash
// (members "<kind>:<sig>", values empty), which Redis keeps in its compact
// encoding while it is small; an index written by an older gateway is a
// set, and is read and changed as one until compact() rewrites it.
// compact(index) writes the index anew as a hash with the same members
// and expiry: a hash that once held a long member (an OpenID record's,
// 69 bytes, over hash-max-listpack-value) keeps the large encoding
// otherwise.
const indexLua = `
local function idx_set(k) return redis.call('TYPE', k).ok == 'set' end
local function idx_add(k, m) if idx_set(k) then redis.call('SADD', k, m) else redis.call('HSET', k, m, '') end end
local function idx_rem(k, m) if idx_set(k) then redis.call('SREM', k, m) else redis.call('HDEL', k, m) end end
local function idx_members(k) if idx_set(k) then return redis.call('SMEMBERS', k) end return redis.call('HKEYS', k) end
local function compact(k)
  local ms = idx_members(k)
  if #ms == 0 then return end
  local ttl = redis.call('PTTL', k)
  redis.call('DEL', k)
  local args = {}
  for _, m in ipairs(ms) do args[#args + 1] = m; args[#args + 1] = '' end
  redis.call('HSET', k, unpack(args))
  if ttl > 0 then redis.call('PEXPIRE', k, ttl) end
end
`

// The token scripts. Scripts are immutable values; Run sends EVALSHA and
// falls back to EVAL when the server does not have the script yet.
var (
	// createTokenScript writes a record and adds it to its request's index,
	// keeping the index alive as long as its longest-lived record.
	// KEYS: record, index. ARGV: record JSON, active flag, deadline (ms),
	// index member, claims (may be empty) and expiry (ms).
	createTokenScript = goredis.NewScript(extendIndexLua + indexLua + `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'active', ARGV[2])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'chk', ARGV[5], 'exp', ARGV[6]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
idx_add(KEYS[2], ARGV[4])
extend(KEYS[2], tonumber(ARGV[3]))
return 1`)

	// deactivateScript is the check-and-set on one record key. It returns
	// nil if there is no record, else {1, rec} if this call deactivated it
	// or {0, rec} if it was already inactive. KEYS: record.
	deactivateScript = goredis.NewScript(retireLua + `
local v = redis.call('HMGET', KEYS[1], 'rec', 'active')
if not v[1] then return false end
if v[2] == '1' then
  redis.call('HSET', KEYS[1], 'active', '0')
  retire(KEYS[1], v[1])
  return {1, v[1]}
end
return {0, v[1]}`)

	// deleteTokenScript removes a record and its index entry.
	// KEYS: record, index. ARGV: index member.
	deleteTokenScript = goredis.NewScript(indexLua + `
redis.call('DEL', KEYS[1])
idx_rem(KEYS[2], ARGV[1])
return 1`)

	// indexMembersScript returns the members of a request's index, a hash
	// or (written by an older gateway) a set. KEYS: index.
	indexMembersScript = goredis.NewScript(indexLua + `return idx_members(KEYS[1])`)

	// revokeScript deletes the records it is given and their index
	// entries, but only if they are every record of the wanted kinds the
	// index holds now; otherwise (a token was issued since the caller read
	// the index) it changes nothing and returns 0, and the caller retries.
	// KEYS: index, records... ARGV: number of kinds k, k kinds (none: all),
	// then the index member of each record, in KEYS order.
	revokeScript = goredis.NewScript(indexLua + `
local k = tonumber(ARGV[1])
local want, given = {}, {}
for i = 2, k + 1 do want[ARGV[i]] = true end
for i = k + 2, #ARGV do given[ARGV[i]] = true end
for _, m in ipairs(idx_members(KEYS[1])) do
  local kind = string.match(m, '^([^:]*):')
  if (k == 0 or want[kind]) and not given[m] then return 0 end
end
for i = 2, #KEYS do
  redis.call('DEL', KEYS[i])
  idx_rem(KEYS[1], ARGV[k + i])
end
return 1`)
)

// CreateToken stores a record, replacing any with the same kind and
// signature, and adds it to its request's index. The record and the keys
// that find it expire at ExpiresAt+oauth.InactiveTail.
func (s *Store) CreateToken(ctx context.Context, kind oauth.TokenKind, signature string, rec oauth.TokenRecord) error {
	data, err := encodeRecord(rec)
	if err != nil {
		return fmt.Errorf("redis: encode %s token: %w", kind, err)
	}
	deadline := tokenDeadline(rec)
	keys := []string{s.recordPrefix(rec.RequestID) + member(kind, signature), s.indexKey(rec.RequestID)}
	err = createTokenScript.Run(ctx, s.c, keys, data, activeFlag(rec.Active), deadline, member(kind, signature),
		rec.Claims, rec.ExpiresAt.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("redis: create %s token: %w", kind, err)
	}
	if err := s.c.Do(ctx, "SET", s.pointerKey(kind, signature), pointerValue(rec), "PXAT", deadline).Err(); err != nil {
		return fmt.Errorf("redis: create %s token pointer: %w", kind, err)
	}
	return nil
}

// GetToken returns the record, active or not, or oauth.ErrNotFound when it
// is absent or past its expiry plus oauth.InactiveTail.
func (s *Store) GetToken(ctx context.Context, kind oauth.TokenKind, signature string) (oauth.TokenRecord, error) {
	requestID, key, err := s.recordKey(ctx, kind, signature)
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: get %s token: %w", kind, err)
	}
	v, err := s.c.HMGet(ctx, key, "rec", "active", "chk").Result()
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: get %s token: %w", kind, err)
	}
	data, ok := v[0].(string)
	if !ok {
		return oauth.TokenRecord{}, fmt.Errorf("redis: get %s token: %w", kind, oauth.ErrNotFound)
	}
	rec, err := s.decodeRecord(kind, data, requestID, v[1] == "1")
	if chk, ok := v[2].(string); ok && err == nil {
		rec.Claims = []byte(chk)
	}
	return rec, err
}

// CheckAccess reads the access token's pointer (unless q already names
// its request and client), then, in one pipeline, the record's claims
// (unless q.KnownClaims), active flag and expiry, the grant, and the apps
// version (the app itself only when none is kept, or, in a second round
// trip, when the version moved; see decoded). A record stored before
// records had claims is read whole, and its app after it.
func (s *Store) CheckAccess(ctx context.Context, q oauth.AccessQuery) (oauth.AccessCheck, error) {
	return s.checkAccess(ctx, q, nil)
}

// checkAccess is CheckAccess with also's commands added to its pipeline
// (also may be nil).
func (s *Store) checkAccess(ctx context.Context, q oauth.AccessQuery, also func(goredis.Pipeliner)) (oauth.AccessCheck, error) {
	requestID, clientID := q.RequestID, q.ClientID
	if requestID == "" || clientID == "" {
		v, err := s.c.Get(ctx, s.pointerKey(oauth.KindAccess, q.Signature)).Result()
		if errors.Is(err, goredis.Nil) {
			return oauth.AccessCheck{}, fmt.Errorf("redis: check access token: %w", oauth.ErrNotFound)
		}
		if err != nil {
			return oauth.AccessCheck{}, fmt.Errorf("redis: check access token: %w", err)
		}
		requestID, clientID = parsePointer(v)
	}
	key := s.recordKeyIn(requestID, oauth.KindAccess, q.Signature)
	var (
		fields *goredis.SliceCmd
		grant  pendingGrant
		app    pendingApp
		hasApp bool
	)
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		if q.KnownClaims {
			fields = p.HMGet(ctx, key, "active", "exp")
		} else {
			fields = p.HMGet(ctx, key, "active", "exp", "chk")
		}
		grant = s.decoded.readGrant(ctx, p, s.grantKey(requestID))
		if clientID != "" {
			app, hasApp = s.decoded.readApp(ctx, p, s.appsVersionKey(), s.appKey(clientID)), true
		}
		if also != nil {
			also(p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return oauth.AccessCheck{}, fmt.Errorf("redis: check access token: %w", err)
	}
	var c oauth.AccessCheck
	v := fields.Val()
	var chk string
	hasClaims := q.KnownClaims // a record with claims has an expiry field too
	if !q.KnownClaims {
		chk, hasClaims = v[2].(string)
	}
	exp, _ := v[1].(string)
	expMS, expErr := strconv.ParseInt(exp, 10, 64)
	if !hasClaims || expErr != nil || clientID == "" {
		if c.Record, err = s.GetToken(ctx, oauth.KindAccess, q.Signature); err != nil {
			return oauth.AccessCheck{}, fmt.Errorf("redis: check access token: %w", err)
		}
		if c.Record.ClientID != clientID {
			hasApp = false
			if c.App, err = s.GetApp(ctx, c.Record.ClientID); err != nil && !errors.Is(err, apps.ErrNotFound) {
				return oauth.AccessCheck{}, fmt.Errorf("redis: check access token: %w", err)
			}
		}
	} else {
		c.Record = oauth.TokenRecord{RequestID: requestID, ClientID: clientID, Active: v[0] == "1",
			ExpiresAt: time.UnixMilli(expMS).UTC()}
		if !q.KnownClaims {
			c.Record.Claims = []byte(chk)
		}
		if !s.now().Before(c.Record.ExpiresAt.Add(oauth.InactiveTail)) {
			return oauth.AccessCheck{}, fmt.Errorf("redis: check access token: %w", oauth.ErrNotFound)
		}
	}
	if c.Grant, err = s.decoded.grant(grant); err != nil {
		return oauth.AccessCheck{}, fmt.Errorf("redis: check access token: grant: %w", err)
	}
	if hasApp {
		if c.App, err = s.decoded.app(ctx, s.c, app); err != nil {
			return oauth.AccessCheck{}, fmt.Errorf("redis: check access token: app: %w", err)
		}
	}
	return c, nil
}

// pointerValue is what a record's pointer holds: its request id and, for
// an access token, its client id after a NUL byte, so that the token check
// can read the record, the grant and the app in one pipeline.
func pointerValue(rec oauth.TokenRecord) string {
	if len(rec.Claims) == 0 {
		return rec.RequestID
	}
	return rec.RequestID + "\x00" + rec.ClientID
}

// parsePointer splits a pointer's value; pointers written before they
// carried the client id give an empty one.
func parsePointer(v string) (requestID, clientID string) {
	requestID, clientID, _ = strings.Cut(v, "\x00")
	return requestID, clientID
}

// recordV2 is the first byte of a record's binary form. A record stored
// before it holds JSON (starting with '{') and is still read.
const recordV2 = 0x02

// encodeRecord is what a record's "rec" field holds:
//
//	0x02, t (1 byte) and r (2 bytes, big-endian), the lengths of the two
//	parts of the header; the tombstone's part (t bytes): the expiry
//	(uvarint: 0 for none, else 1 + Unix nanoseconds) and the client id;
//	the rest (r bytes): the access signature; then the request (oauth's
//	projection, opaque here) to the end.
//
// A string is a uvarint length and its bytes. The request id is not
// kept: it is in the record's key and its pointer. The active flag is a
// field of its own ("active"), and so are the claims ("chk"). A used-up
// record keeps 0x02, t, two zero bytes and the tombstone's part
// (retireLua). A client id too long for t leaves the tombstone's part
// empty and goes with the rest.
func encodeRecord(rec oauth.TokenRecord) ([]byte, error) {
	exp := uint64(0)
	if !rec.ExpiresAt.IsZero() {
		ns := rec.ExpiresAt.UnixNano()
		if ns < 0 || rec.ExpiresAt.After(time.Unix(0, math.MaxInt64-1)) {
			return nil, fmt.Errorf("expiry %v out of range", rec.ExpiresAt)
		}
		exp = uint64(ns) + 1
	}
	b := make([]byte, 4, 4+2*binary.MaxVarintLen64+len(rec.ClientID)+len(rec.AccessSignature)+len(rec.Request))
	b[0] = recordV2
	b = binary.AppendUvarint(b, exp)
	b = appendField(b, rec.ClientID)
	t := len(b) - 4
	if t > math.MaxUint8 {
		b, t = b[:4], 0
		b = binary.AppendUvarint(b, exp)
		b = appendField(b, rec.ClientID)
	}
	b = appendField(b, rec.AccessSignature)
	r := len(b) - 4 - t
	if r > math.MaxUint16 {
		return nil, errors.New("record header too long")
	}
	b[1] = byte(t)
	binary.BigEndian.PutUint16(b[2:4], uint16(r))
	return append(b, rec.Request...), nil
}

func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// parseRecord reads a record's "rec" field in either form (without its
// active flag and claims). requestID is the record's, from its pointer:
// the binary form does not repeat it.
func parseRecord(data, requestID string) (oauth.TokenRecord, error) {
	var rec oauth.TokenRecord
	if len(data) == 0 || data[0] != recordV2 {
		err := json.Unmarshal([]byte(data), &rec)
		return rec, err
	}
	if len(data) < 4 {
		return rec, errors.New("record truncated")
	}
	t, r := int(data[1]), int(binary.BigEndian.Uint16([]byte(data[2:4])))
	if len(data) < 4+t+r {
		return rec, errors.New("record truncated")
	}
	h := []byte(data[4 : 4+t+r])
	exp, k := binary.Uvarint(h)
	if k <= 0 || exp > math.MaxInt64 {
		return rec, errors.New("record expiry malformed")
	}
	if exp != 0 {
		rec.ExpiresAt = time.Unix(0, int64(exp-1)).UTC()
	}
	h = h[k:]
	fields := []*string{&rec.ClientID}
	if r > 0 {
		fields = append(fields, &rec.AccessSignature)
	}
	for _, f := range fields {
		l, k := binary.Uvarint(h)
		if k <= 0 || l > uint64(len(h)-k) {
			return rec, errors.New("record header malformed")
		}
		*f = string(h[k : k+int(l)])
		h = h[k+int(l):]
	}
	if len(h) != 0 {
		return rec, errors.New("record header has trailing bytes")
	}
	rec.RequestID = requestID
	if body := data[4+t+r:]; body != "" {
		rec.Request = []byte(body)
	}
	return rec, nil
}

// DeleteToken removes a record; removing a missing record is not an error.
func (s *Store) DeleteToken(ctx context.Context, kind oauth.TokenKind, signature string) error {
	v, err := s.c.Get(ctx, s.pointerKey(kind, signature)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	requestID, _ := parsePointer(v)
	if err != nil {
		return fmt.Errorf("redis: delete %s token: %w", kind, err)
	}
	m := member(kind, signature)
	keys := []string{s.recordPrefix(requestID) + m, s.indexKey(requestID)}
	if err := deleteTokenScript.Run(ctx, s.c, keys, m).Err(); err != nil {
		return fmt.Errorf("redis: delete %s token: %w", kind, err)
	}
	if err := s.c.Del(ctx, s.pointerKey(kind, signature)).Err(); err != nil {
		return fmt.Errorf("redis: delete %s token pointer: %w", kind, err)
	}
	return nil
}

// DeactivateToken atomically turns an active record inactive and returns it
// as it was: oauth.ErrInactive if it was already inactive, oauth.ErrNotFound
// if there is none (or it expired).
func (s *Store) DeactivateToken(ctx context.Context, kind oauth.TokenKind, signature string) (oauth.TokenRecord, error) {
	requestID, key, err := s.recordKey(ctx, kind, signature)
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: deactivate %s token: %w", kind, err)
	}
	res, err := deactivateScript.Run(ctx, s.c, []string{key}).Slice()
	if errors.Is(err, goredis.Nil) {
		return oauth.TokenRecord{}, fmt.Errorf("redis: deactivate %s token: %w", kind, oauth.ErrNotFound)
	}
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: deactivate %s token: %w", kind, err)
	}
	won, _ := res[0].(int64)
	data, _ := res[1].(string)
	rec, err := s.decodeRecord(kind, data, requestID, won == 1)
	if err != nil {
		return oauth.TokenRecord{}, err
	}
	if won != 1 {
		return rec, fmt.Errorf("redis: deactivate %s token: %w", kind, oauth.ErrInactive)
	}
	return rec, nil
}

// RevokeRequest removes every record of the given kinds (all kinds if
// none are given) issued under requestID: it reads the request's index,
// then deletes those records in one script that first checks the index
// has not grown meanwhile, retrying if it has.
func (s *Store) RevokeRequest(ctx context.Context, requestID string, kinds ...oauth.TokenKind) error {
	index := s.indexKey(requestID)
	for range maxTxAttempts {
		members, err := indexMembersScript.Run(ctx, s.c, []string{index}).StringSlice()
		if err != nil {
			return fmt.Errorf("redis: revoke request: %w", err)
		}
		keys := []string{index}
		args := []any{len(kinds)}
		for _, k := range kinds {
			args = append(args, string(k))
		}
		for _, m := range members {
			kind, _, _ := strings.Cut(m, ":")
			if len(kinds) == 0 || slices.Contains(kinds, oauth.TokenKind(kind)) {
				keys = append(keys, s.recordPrefix(requestID)+m)
				args = append(args, m)
			}
		}
		done, err := revokeScript.Run(ctx, s.c, keys, args...).Int()
		if err != nil {
			return fmt.Errorf("redis: revoke request: %w", err)
		}
		if done == 1 {
			return nil
		}
	}
	return fmt.Errorf("redis: revoke request: gave up after %d concurrent changes", maxTxAttempts)
}

// TokenExpiry returns when Redis will drop the record, after checking that
// its pointer expires at the same moment and its request's index no
// earlier. oauth.ErrNotFound if there is no record.
func (s *Store) TokenExpiry(ctx context.Context, kind oauth.TokenKind, signature string) (time.Time, error) {
	v, err := s.c.Get(ctx, s.pointerKey(kind, signature)).Result()
	if errors.Is(err, goredis.Nil) {
		return time.Time{}, fmt.Errorf("redis: %s token expiry: %w", kind, oauth.ErrNotFound)
	}
	requestID, _ := parsePointer(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: %s token expiry: %w", kind, err)
	}
	names := []string{"pointer", "record", "index"}
	keys := []string{s.pointerKey(kind, signature), s.recordPrefix(requestID) + member(kind, signature), s.indexKey(requestID)}
	at := make([]int64, len(keys))
	for i, key := range keys {
		if at[i], err = s.expireTime(ctx, key); err != nil {
			return time.Time{}, fmt.Errorf("redis: %s token %s expiry: %w", kind, names[i], err)
		}
	}
	if at[0] != at[1] || at[2] < at[1] {
		return time.Time{}, fmt.Errorf("redis: %s token expiries disagree: pointer %d, record %d, index %d ms", kind, at[0], at[1], at[2])
	}
	return time.UnixMilli(at[1]).UTC(), nil
}

// expireTime returns a key's PEXPIRETIME, oauth.ErrNotFound if the key is
// missing, or an error if it never expires.
func (s *Store) expireTime(ctx context.Context, key string) (int64, error) {
	ms, err := s.c.PExpireTime(ctx, key).Result()
	if err != nil {
		return 0, err
	}
	switch ms {
	case -2:
		return 0, oauth.ErrNotFound
	case -1:
		return 0, errors.New("key has no expiry")
	}
	return int64(ms / time.Millisecond), nil
}

// recordKey follows a signature's pointer to its request id and record key.
func (s *Store) recordKey(ctx context.Context, kind oauth.TokenKind, signature string) (requestID, key string, err error) {
	v, err := s.c.Get(ctx, s.pointerKey(kind, signature)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", "", oauth.ErrNotFound
	}
	if err != nil {
		return "", "", err
	}
	requestID, _ = parsePointer(v)
	return requestID, s.recordPrefix(requestID) + member(kind, signature), nil
}

// decodeRecord decodes a stored record, sets its active flag and applies
// the read-side expiry check.
func (s *Store) decodeRecord(kind oauth.TokenKind, data, requestID string, active bool) (oauth.TokenRecord, error) {
	rec, err := parseRecord(data, requestID)
	if err != nil {
		return oauth.TokenRecord{}, fmt.Errorf("redis: decode %s token: %w", kind, err)
	}
	rec.Active = active
	if !s.now().Before(rec.ExpiresAt.Add(oauth.InactiveTail)) {
		return oauth.TokenRecord{}, fmt.Errorf("redis: %s token: %w", kind, oauth.ErrNotFound)
	}
	return rec, nil
}

// tokenDeadline is when Redis drops a record: ExpiresAt+InactiveTail in
// milliseconds, rounded up so Redis never drops it before the read-side
// check would.
func tokenDeadline(rec oauth.TokenRecord) int64 {
	return ceilMilli(rec.ExpiresAt.Add(oauth.InactiveTail))
}

// ceilMilli converts a deadline for PEXPIREAT, rounding up to the next
// millisecond. Redis refuses a deadline at or before the epoch, so those
// become 1 ms, which is already past.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return max(ms, 1)
}
