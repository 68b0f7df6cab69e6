package redis

import goredis "github.com/redis/go-redis/v9"

// extendIndexLua defines extend(key, deadline): make the key live at
// least until deadline (ms), so it outlives every record it holds.
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

// retireLua defines retire(key, rec): what is kept of a record in a key
// of its own (stored by an older gateway) once it is used up. A record in
// the binary form keeps only its tombstone; the hash is written anew, so
// that Redis keeps it in its compact encoding (a hash that once held a
// long value stays in the large one), with the same expiry. A JSON record
// only loses its claims.
const retireLua = `
local function retire(key, rec)
  if string.byte(rec, 1) == 2 then
    local ttl = redis.call('PTTL', key)
    redis.call('DEL', key)
    redis.call('HSET', key, 'rec', tomb(rec), 'active', '0')
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
  else
    redis.call('HDEL', key, 'chk', 'exp')
  end
end
`

// indexLua defines the request hash's operations. A request's hash
// written by an older gateway may be a set (its members, records in keys
// of their own), which is read and changed as one; to_hash(k) rewrites it
// as a hash of the same members, each with an empty value (the mark of a
// record in a key of its own), before a record is written into it.
// retire_inline(index, used, m, rec, deadline) moves an inline record's
// tombstone into the used hash, dropping the tombstones there that are
// past their deadline, and keeps the used hash until the latest of its
// tombstones' deadlines.
const indexLua = `
local function idx_set(k) return redis.call('TYPE', k).ok == 'set' end
local function idx_rem(k, m) if idx_set(k) then redis.call('SREM', k, m) else redis.call('HDEL', k, m) end end
local function idx_members(k) if idx_set(k) then return redis.call('SMEMBERS', k) end return redis.call('HKEYS', k) end
local function to_hash(k)
  if not idx_set(k) then return end
  local ms = redis.call('SMEMBERS', k)
  local ttl = redis.call('PTTL', k)
  redis.call('DEL', k)
  for _, m in ipairs(ms) do redis.call('HSET', k, m, '') end
  if ttl > 0 then redis.call('PEXPIRE', k, ttl) end
end
local function inline_get(k, m)
  local v = redis.pcall('HGET', k, m)
  if type(v) == 'string' and v ~= '' then return v end
  return nil
end
local function retire_inline(index, used, m, rec, deadline)
  redis.call('HDEL', index, m)
  local now = now_ms()
  local all = redis.call('HGETALL', used)
  for i = 1, #all, 2 do
    if unbe8(all[i + 1]) <= now then redis.call('HDEL', used, all[i]) end
  end
  redis.call('HSET', used, m, be8(deadline) .. tomb(rec))
  extend(used, deadline)
end
`

// tokenLua is every helper the token scripts share.
const tokenLua = recordLua + extendIndexLua + retireLua + indexLua

// The token scripts. Scripts are immutable values; Run sends EVALSHA and
// falls back to EVAL when the server does not have the script yet. Their
// KEYS all carry the request's hash tag: the request's hash ("index"),
// its used hash ("used"), and the keys of its own an older gateway gave
// a record ("own key"), which may not exist.
var (
	// createTokenScript writes a record into its request's hash, keeping
	// the hash alive as long as its longest-lived record.
	// KEYS: index. ARGV: index member, encodeInline's form, deadline (ms).
	createTokenScript = goredis.NewScript(tokenLua + `
to_hash(KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
extend(KEYS[1], tonumber(ARGV[3]))
return 1`)

	// readTokenScript finds a record wherever it is: {formInline, value},
	// {formUsed, value}, {formOwnKey, rec, active, claims}, or nil.
	// KEYS: index, used, own key. ARGV: index member.
	readTokenScript = goredis.NewScript(tokenLua + `
local v = inline_get(KEYS[1], ARGV[1])
if v then return {1, v} end
local u = redis.call('HGET', KEYS[2], ARGV[1])
if u then return {2, u} end
local r = redis.call('HMGET', KEYS[3], 'rec', 'active', 'chk')
if r[1] then return {3, r[1], r[2] or '', r[3] or ''} end
return false`)

	// deactivateScript is the check-and-set on one record. It returns nil
	// if there is none, else {1, form, value} if this call deactivated it
	// (an inline record becomes a tombstone in the used hash, kept until
	// its own deadline) or {0, form, value} if it was already inactive.
	// KEYS: index, used, own key. ARGV: index member, oauth.InactiveTail (ms).
	deactivateScript = goredis.NewScript(tokenLua + `
local v = inline_get(KEYS[1], ARGV[1])
if v then
  if string.byte(v, 2) ~= 1 then return {0, 1, v} end
  local rec = inline_rec(v)
  retire_inline(KEYS[1], KEYS[2], ARGV[1], rec, rec_deadline(rec, tonumber(ARGV[2])))
  return {1, 1, v}
end
local u = redis.call('HGET', KEYS[2], ARGV[1])
if u then return {0, 2, u} end
local r = redis.call('HMGET', KEYS[3], 'rec', 'active')
if not r[1] then return false end
if r[2] == '1' then
  redis.call('HSET', KEYS[3], 'active', '0')
  retire(KEYS[3], r[1])
  return {1, 3, r[1]}
end
return {0, 3, r[1]}`)

	// deleteTokenScript removes a record wherever it is.
	// KEYS: own key, index, used. ARGV: index member.
	deleteTokenScript = goredis.NewScript(tokenLua + `
redis.call('DEL', KEYS[1])
idx_rem(KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1`)

	// indexMembersScript returns the members of a request's hash, or
	// (written by an older gateway) set. KEYS: index.
	indexMembersScript = goredis.NewScript(tokenLua + `return idx_members(KEYS[1])`)

	// revokeScript deletes the records of the wanted kinds: the members
	// of the request's hash it is given (with their own keys, from older
	// gateways) and the tombstones in the used hash. It does so only if
	// they are every member of those kinds the request's hash holds now;
	// otherwise (a token was issued since the caller read it) it changes
	// nothing and returns 0, and the caller retries.
	// KEYS: index, used, the own key of each member given. ARGV: number of
	// kinds k, k kinds (none: all), then the members, in KEYS order.
	revokeScript = goredis.NewScript(tokenLua + `
local k = tonumber(ARGV[1])
local want, given = {}, {}
for i = 2, k + 1 do want[ARGV[i]] = true end
for i = k + 2, #ARGV do given[ARGV[i]] = true end
local function wanted(m) return k == 0 or want[string.match(m, '^([^:]*):')] end
for _, m in ipairs(idx_members(KEYS[1])) do
  if wanted(m) and not given[m] then return 0 end
end
for i = 3, #KEYS do
  redis.call('DEL', KEYS[i])
  idx_rem(KEYS[1], ARGV[k + i - 1])
end
for _, m in ipairs(redis.call('HKEYS', KEYS[2])) do
  if wanted(m) then redis.call('HDEL', KEYS[2], m) end
end
return 1`)
)
