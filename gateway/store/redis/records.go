package redis

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/patientaccess/gateway/oauth"
)

// pointerValue is what a record's pointer holds: its request id and, for
// an access token, its client id after a NUL byte, so that the token check
// can read the record, the grant and the app in one pipeline. A request id
// that is a UUID in its canonical form (fosite's) is written as 0x01 and
// its 16 bytes, not its 36 characters: a pointer of 17 bytes (40 with a
// client id) fits in the allocation of the key's object, 16 bytes of
// Redis less per pointer.
func pointerValue(rec oauth.TokenRecord) string {
	id := rec.RequestID
	if u, err := uuid.Parse(id); err == nil && u.String() == id {
		id = string(append([]byte{pointerUUID}, u[:]...))
	}
	if len(rec.Claims) == 0 {
		return id
	}
	return id + "\x00" + rec.ClientID
}

// pointerUUID is the first byte of a pointer whose request id is a UUID's
// 16 bytes. A request id never starts with it.
const pointerUUID = 0x01

// parsePointer splits a pointer's value; pointers written before they
// carried the client id give an empty one, and pointers written before
// UUIDs were binary still read.
func parsePointer(v string) (requestID, clientID string) {
	if len(v) >= 17 && v[0] == pointerUUID {
		requestID, v = uuid.UUID([]byte(v[1:17])).String(), v[17:]
		if v != "" {
			clientID = v[1:]
		}
		return requestID, clientID
	}
	requestID, clientID, _ = strings.Cut(v, "\x00")
	return requestID, clientID
}

// The forms a record is stored in (see doc.go, Records).
const (
	// recordV2 is the first byte of a record's binary form. A record
	// stored before it holds JSON (starting with '{') and is still read.
	recordV2 = 0x02
	// recordV3 is the first byte of a record kept in its request's hash:
	// its active flag and claims, then its binary form (encodeInline).
	recordV3 = 0x03
)

// The places readTokenScript, deactivateScript and useScript find a
// record in, as the first element of their answer.
const (
	formInline = 1 // a field of the request's hash: encodeInline's form
	formUsed   = 2 // a field of the request's used hash: a deadline and a tombstone
	formOwnKey = 3 // a key of its own, as older gateways stored every record
)

// encodeInline is a record as a field of its request's hash holds it:
//
//	0x03, the active flag (1 byte: 0 or 1), the claims (uvarint length
//	and bytes), then encodeRecord's form to the end.
//
// Everything the token check reads is in one value, so it costs one HGET,
// and the request's records and index are one key.
func encodeInline(rec oauth.TokenRecord) ([]byte, error) {
	body, err := encodeRecord(rec)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 2+binary.MaxVarintLen64+len(rec.Claims)+len(body))
	b = append(b, recordV3, 0)
	if rec.Active {
		b[1] = 1
	}
	b = binary.AppendUvarint(b, uint64(len(rec.Claims)))
	b = append(b, rec.Claims...)
	return append(b, body...), nil
}

// parseInline reads encodeInline's form.
func parseInline(v, requestID string) (oauth.TokenRecord, error) {
	active, claims, body, ok := splitInline(v)
	if !ok {
		return oauth.TokenRecord{}, errors.New("record malformed")
	}
	rec, err := parseRecord(body, requestID)
	if err != nil {
		return oauth.TokenRecord{}, err
	}
	rec.Active = active
	if claims != "" {
		rec.Claims = []byte(claims)
	}
	return rec, nil
}

// splitInline splits encodeInline's form into its flag, claims and
// binary record, without copying.
func splitInline(v string) (active bool, claims, body string, ok bool) {
	if len(v) < 3 || v[0] != recordV3 {
		return false, "", "", false
	}
	n, k := uvarint(v[2:])
	if k <= 0 || n > uint64(len(v)-2-k) {
		return false, "", "", false
	}
	start := 2 + k
	return v[1] == 1, v[start : start+int(n)], v[start+int(n):], true
}

// inlineCheck is what the token check needs of encodeInline's form: the
// active flag, the claims and the expiry, read without decoding the rest.
func inlineCheck(v string) (active bool, claims string, expiresAt time.Time, ok bool) {
	active, claims, body, ok := splitInline(v)
	if !ok || len(body) < 5 || body[0] != recordV2 {
		return false, "", time.Time{}, false
	}
	exp, k := uvarint(body[4:])
	if k <= 0 || exp > math.MaxInt64 {
		return false, "", time.Time{}, false
	}
	if exp != 0 {
		expiresAt = time.Unix(0, int64(exp-1)).UTC()
	}
	return active, claims, expiresAt, true
}

// uvarint is binary.Uvarint on a string, so that reading a header copies
// nothing.
func uvarint(s string) (uint64, int) {
	var x uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				return 0, -(i + 1)
			}
			return x | uint64(b)<<(7*i), i + 1
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	return 0, 0
}

// parseUsed reads a field of the used hash: the deadline (8 bytes, ms,
// big-endian), then the tombstone in encodeRecord's form.
func parseUsed(v, requestID string) (oauth.TokenRecord, error) {
	if len(v) < 8 {
		return oauth.TokenRecord{}, errors.New("tombstone truncated")
	}
	return parseRecord(v[8:], requestID)
}

// encodeRecord is a record's binary form:
//
//	0x02, t (1 byte) and r (2 bytes, big-endian), the lengths of the two
//	parts of the header; the tombstone's part (t bytes): the expiry
//	(uvarint: 0 for none, else 1 + Unix nanoseconds) and the client id;
//	the rest (r bytes): the access signature; then the request (oauth's
//	projection, opaque here) to the end.
//
// A string is a uvarint length and its bytes. The request id is not
// kept: it is in the record's key and its pointer. A used-up record keeps
// 0x02, t, two zero bytes and the tombstone's part (tombLua). A client id
// too long for t leaves the tombstone's part empty and goes with the
// rest.
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

// parseRecord reads a record's binary form, or the JSON of a record
// stored before it (without its active flag and claims, kept apart).
// requestID is the record's, from its pointer: the binary form does not
// repeat it.
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

// recordLua holds the scripts' helpers for the forms above.
//
// be8 and unbe8 write and read a used field's deadline. uvarint(s, i)
// reads a uvarint at i, returning it and the index after it. inline_rec
// is the binary record in an inline value; tomb what a binary record
// keeps once used (the tombstone's part of its header: expiry and client,
// not its access signature or request); rec_deadline(rec, tail) when it
// is dropped: its expiry plus tail in ms, rounded up (by up to 2 ms: Lua
// numbers are doubles, exact to 2^53, and the expiry is in ns);
// access_sig the access signature in its header ("" for none).
const recordLua = `
local function be8(n) local s = '' for _ = 1, 8 do s = string.char(n % 256) .. s; n = math.floor(n / 256) end return s end
local function unbe8(v) local n = 0 for i = 1, 8 do n = n * 256 + string.byte(v, i) end return n end
local function uvarint(s, i)
  local n, m = 0, 1
  while true do
    local b = string.byte(s, i)
    i = i + 1
    n = n + (b % 128) * m
    if b < 128 then return n, i end
    m = m * 128
  end
end
local function inline_rec(v) local n, i = uvarint(v, 3) return string.sub(v, i + n) end
local function tomb(rec) return string.sub(rec, 1, 2) .. '\0\0' .. string.sub(rec, 5, 4 + string.byte(rec, 2)) end
local function rec_deadline(rec, tail)
  local ns = uvarint(rec, 5)
  if ns == 0 then return 1 end
  return math.floor((ns - 1) / 1000000) + 2 + tail
end
local function access_sig(rec)
  local hend = 5 + string.byte(rec, 2) + string.byte(rec, 3) * 256 + string.byte(rec, 4)
  local _, i = uvarint(rec, 5)
  local n
  n, i = uvarint(rec, i)
  i = i + n
  if i >= hend then return '' end
  n, i = uvarint(rec, i)
  return string.sub(rec, i, i + n - 1)
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`
