package memory

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// tombSig is the longest signature a tombKey holds: fosite's HMAC
// strategy's are 43 characters (a SHA-512/256 sum, unpadded base64url).
const tombSig = 46

// tombKey is a tombstone's kind and signature in a form without pointers,
// so that the map of them is one the collector does not scan.
type tombKey struct {
	sig  [tombSig]byte
	n    uint8 // the signature's length
	kind uint8 // its index in oauth.AllKinds, plus one
}

// tomb is what a used record keeps until its reuse no longer matters
// (oauth.TokenStore's tombstone): its ExpiresAt, when it is dropped, and
// its request's entry in tombstones.reqs, which names the request and
// client. It holds no pointers.
type tomb struct {
	expSec  int64 // ExpiresAt, Unix seconds
	drop    int64 // Unix nanoseconds from which it is gone (saturated)
	expNsec uint32
	req     uint32
}

// tombReq is a request (and client) its tombstones name: many
// tombstones (a refresh token rotated every hour) share it.
type tombReq struct {
	id, client string
	refs       uint32 // the tombstones that name it; 0: a free entry
	next       uint32 // the next entry of the same request id (another client); 0: none
	kinds      uint8  // a bit per kind (kindBit) its tombstones have had
	revoked    bool   // RevokeRequest: its tombstones are gone, dropped as they are met
}

// tombstones keeps the used records (a used code, a rotated refresh
// token, a deactivated record) as compact tombstones: a rotated refresh
// token is kept oauth.InactiveTail, a day, so that its reuse is detected,
// and under load there are many more of them than live records. What
// reuse detection reads of one (the request and client, ExpiresAt,
// inactive) is all it keeps: about 24 bytes and a 48-byte key in a map
// without pointers, the request's strings shared by its tombstones.
type tombstones struct {
	short map[tombKey]tomb
	long  map[tokenKey]tomb // signatures longer than tombSig, kinds not in oauth.AllKinds
	reqs  []tombReq         // entry 0 is never used
	byID  map[string]uint32 // request id -> its first entry, while not revoked
	free  []uint32          // free entries, to use again
}

func newTombstones() tombstones {
	return tombstones{short: map[tombKey]tomb{}, long: map[tokenKey]tomb{}, reqs: make([]tombReq, 1), byID: map[string]uint32{}}
}

// kindIndex returns the kind's index in oauth.AllKinds plus one, 0 for
// another kind.
func kindIndex(kind oauth.TokenKind) uint8 {
	if i := slices.Index(oauth.AllKinds, kind); i >= 0 && i < 7 {
		return uint8(i + 1)
	}
	return 0
}

// kindBit is the kind's bit in tombReq.kinds: its kindIndex's, bit 0 for
// other kinds.
func kindBit(kind oauth.TokenKind) uint8 { return 1 << kindIndex(kind) }

// shortKey returns k's tombKey, false if it has none.
func shortKey(k tokenKey) (tombKey, bool) {
	ki := kindIndex(k.kind)
	if ki == 0 || len(k.sig) > tombSig {
		return tombKey{}, false
	}
	t := tombKey{n: uint8(len(k.sig)), kind: ki}
	copy(t.sig[:], k.sig)
	return t, true
}

// lookup returns k's tombstone, dead or alive.
func (ts *tombstones) lookup(k tokenKey) (tomb, bool) {
	if sk, ok := shortKey(k); ok {
		t, ok := ts.short[sk]
		return t, ok
	}
	t, ok := ts.long[k]
	return t, ok
}

// get returns k's tombstone as a record (inactive, with its request,
// client and ExpiresAt), or false; a tombstone past its time or revoked
// is removed.
func (ts *tombstones) get(k tokenKey, now time.Time) (oauth.TokenRecord, bool) {
	t, ok := ts.lookup(k)
	if !ok {
		return oauth.TokenRecord{}, false
	}
	e := &ts.reqs[t.req]
	if e.revoked || satNanos(now) >= t.drop {
		ts.remove(k)
		return oauth.TokenRecord{}, false
	}
	return oauth.TokenRecord{RequestID: e.id, ClientID: e.client, ExpiresAt: time.Unix(t.expSec, int64(t.expNsec)).UTC()}, true
}

// requestOf returns the request id k's tombstone names, if it has one
// (dead or alive).
func (ts *tombstones) requestOf(k tokenKey) (string, bool) {
	t, ok := ts.lookup(k)
	if !ok || ts.reqs[t.req].revoked {
		return "", false
	}
	return ts.reqs[t.req].id, true
}

// put keeps rec's tombstone under k until drop, replacing any; k holds
// no tombstone alive or dead when it has a live record.
func (ts *tombstones) put(k tokenKey, rec oauth.TokenRecord, drop time.Time) {
	ts.remove(k)
	t := tomb{expSec: rec.ExpiresAt.Unix(), expNsec: uint32(rec.ExpiresAt.Nanosecond()), drop: satNanos(drop),
		req: ts.ref(rec.RequestID, rec.ClientID, kindBit(k.kind))}
	if sk, ok := shortKey(k); ok {
		ts.short[sk] = t
		return
	}
	k.sig = strings.Clone(k.sig) // not a piece of the request it came in
	ts.long[k] = t
}

// remove drops k's tombstone, if any.
func (ts *tombstones) remove(k tokenKey) {
	t, ok := ts.lookup(k)
	if !ok {
		return
	}
	if sk, ok := shortKey(k); ok {
		delete(ts.short, sk)
	} else {
		delete(ts.long, k)
	}
	ts.release(t.req)
}

// ref returns the entry of the request and client, added if it has none,
// counting one more tombstone of the kind's bit.
func (ts *tombstones) ref(id, client string, bit uint8) uint32 {
	first := ts.byID[id]
	for i := first; i != 0; i = ts.reqs[i].next {
		if e := &ts.reqs[i]; e.client == client {
			e.refs++
			e.kinds |= bit
			return i
		}
	}
	e := tombReq{id: strings.Clone(id), client: strings.Clone(client), refs: 1, kinds: bit, next: first}
	var i uint32
	if n := len(ts.free); n > 0 {
		i, ts.free = ts.free[n-1], ts.free[:n-1]
		ts.reqs[i] = e
	} else {
		i = uint32(len(ts.reqs))
		ts.reqs = append(ts.reqs, e)
	}
	ts.byID[id] = i
	return i
}

// release drops one tombstone of entry i, and the entry with its last.
func (ts *tombstones) release(i uint32) {
	e := &ts.reqs[i]
	if e.refs--; e.refs > 0 {
		return
	}
	if !e.revoked {
		ts.unlink(i)
	}
	ts.reqs[i] = tombReq{}
	ts.free = append(ts.free, i)
}

// unlink takes entry i out of its request id's list.
func (ts *tombstones) unlink(i uint32) {
	id, next := ts.reqs[i].id, ts.reqs[i].next
	first := ts.byID[id]
	if first == i {
		if next == 0 {
			delete(ts.byID, id)
		} else {
			ts.byID[id] = next
		}
		return
	}
	for j := first; ts.reqs[j].next != 0; j = ts.reqs[j].next {
		if ts.reqs[j].next == i {
			ts.reqs[j].next = next
			return
		}
	}
}

// revoke drops the request's tombstones of the given kinds (all if
// none). An entry whose every kind goes is marked revoked and taken out
// of byID, and its tombstones are removed as they are met (get, sweep);
// one that keeps tombstones of other kinds has those of the given kinds
// found by a walk of the tombstones (no caller of the gateway's revokes
// part of a request's kinds).
func (ts *tombstones) revoke(id string, kinds []oauth.TokenKind) {
	// mask has the bits of the kinds named in oauth.AllKinds; other kinds
	// share bit 0, which therefore never says that all of them go.
	var mask, other uint8
	for _, k := range kinds {
		if bit := kindBit(k); bit == 1 {
			other = 1
		} else {
			mask |= bit
		}
	}
	var partial []uint32
	for i := ts.byID[id]; i != 0; i = ts.reqs[i].next {
		switch e := &ts.reqs[i]; {
		case len(kinds) == 0 || e.kinds&^mask == 0:
			e.revoked = true
		case e.kinds&(mask|other) != 0:
			partial = append(partial, i)
		}
	}
	if len(partial) > 0 {
		ts.removeKinds(partial, kinds)
	}
	ts.relink(id)
}

// relink makes byID's list of the request id hold only its entries not
// revoked.
func (ts *tombstones) relink(id string) {
	var keep []uint32
	for i := ts.byID[id]; i != 0; i = ts.reqs[i].next {
		if !ts.reqs[i].revoked {
			keep = append(keep, i)
		}
	}
	delete(ts.byID, id)
	for j, i := range keep {
		ts.reqs[i].next = 0
		if j+1 < len(keep) {
			ts.reqs[i].next = keep[j+1]
		}
	}
	if len(keep) > 0 {
		ts.byID[id] = keep[0]
	}
}

// removeKinds removes the tombstones of the entries and kinds given.
func (ts *tombstones) removeKinds(entries []uint32, kinds []oauth.TokenKind) {
	for sk, t := range ts.short {
		if slices.Contains(entries, t.req) && slices.Contains(kinds, oauth.AllKinds[sk.kind-1]) {
			delete(ts.short, sk)
			ts.release(t.req)
		}
	}
	for k, t := range ts.long {
		if slices.Contains(entries, t.req) && slices.Contains(kinds, k.kind) {
			delete(ts.long, k)
			ts.release(t.req)
		}
	}
}

// sweep removes the tombstones past their time or revoked.
func (ts *tombstones) sweep(now time.Time) {
	ns := satNanos(now)
	for sk, t := range ts.short {
		if ns >= t.drop || ts.reqs[t.req].revoked {
			delete(ts.short, sk)
			ts.release(t.req)
		}
	}
	for k, t := range ts.long {
		if ns >= t.drop || ts.reqs[t.req].revoked {
			delete(ts.long, k)
			ts.release(t.req)
		}
	}
}

// len returns the number of tombstones kept, dead or alive.
func (ts *tombstones) len() int { return len(ts.short) + len(ts.long) }

// satNanos returns t as Unix nanoseconds, saturated outside the years
// they reach (nanos).
func satNanos(t time.Time) int64 {
	sec := t.Unix()
	if ns, ok := nanos(sec, int64(t.Nanosecond())); ok {
		return ns
	}
	if sec < 0 {
		return math.MinInt64
	}
	return math.MaxInt64
}
