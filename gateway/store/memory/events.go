package memory

import (
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// eventChunk is how many records one allocation of the event log holds:
// the log grows by chunks, never by copying what it keeps, and the
// retention frees whole chunks.
const eventChunk = 1024

// record is an audit event as the store keeps it. It holds no pointer, so
// the garbage collector never scans the log however long it is (one
// record per FHIR call, for the 90 days of the retention): its strings
// are ids in the log's internTable, its time is Unix seconds and
// nanoseconds with an index in the log's locations, and its request id,
// when it has the gateway's form (hex) or a UUID's, is kept as bytes.
type record struct {
	sec   int64 // Time, Unix seconds
	count int64 // Count
	nsec  uint32
	// internTable ids of the event's strings.
	action, outcome, member, patient, clientID, reason, actor, clientIP uint32
	// types is the id of the resource types, each followed by a NUL
	// (Bounded replaced control characters, so none is in a type); with
	// hasTypes unset they are nil.
	types   uint32
	reqKind uint8 // how req holds the request id: reqNone, reqHex, ...
	reqLen  uint8 // bytes of req in use (reqHex)
	loc     uint8 // index in eventLog.locs of Time's location
	flags   uint8 // hasTypes, withdrawn
	req     [16]byte
}

// record flags.
const (
	hasTypes  = 1 << iota // ResourceTypes is not nil (it may be empty)
	withdrawn             // WithdrawEvents removed it: it is skipped, then dropped
)

// How a record holds its request id.
const (
	reqNone  = iota // no request id
	reqHex          // lowercase hex of up to 32 digits (the gateway's own ids are 24), as reqLen bytes
	reqUUID         // a UUID in its canonical lowercase form, as 16 bytes
	reqOther        // any other id: interned, its id in req[:4]
)

// eventLog keeps the store's audit events in append order, oldest first,
// as records in chunks. An event's seq (its ref for WithdrawEvents) is its
// place in the order: the oldest kept record's seq is first, and a
// withdrawn record keeps its place, marked, until the retention drops it.
type eventLog struct {
	chunks []*[eventChunk]record
	head   int    // index in chunks[0] of the oldest kept record
	n      int    // records kept, withdrawn ones included
	first  uint64 // the oldest kept record's seq; the next seq when n is 0
	strs   internTable
	// locs are the locations of the events' times; at most 256, after
	// which a time is kept in UTC (the same instant).
	locs []*time.Location
}

func newEventLog() eventLog {
	return eventLog{first: 1, strs: newInternTable(), locs: []*time.Location{time.UTC}}
}

// at returns the record at place p, 0 being the oldest kept.
func (l *eventLog) at(p int) *record {
	g := l.head + p
	return &l.chunks[g/eventChunk][g%eventChunk]
}

// append keeps e, which the caller has bounded (apps.Event.Bounded), and
// returns its seq.
func (l *eventLog) append(e apps.Event) uint64 {
	if g := l.head + l.n; g/eventChunk == len(l.chunks) {
		l.chunks = append(l.chunks, new([eventChunk]record))
	}
	r := l.at(l.n)
	*r = record{sec: e.Time.Unix(), nsec: uint32(e.Time.Nanosecond()), count: int64(e.Count),
		loc: l.locIndex(e.Time.Location())}
	l.n++
	s := &l.strs
	r.action, r.outcome, r.member, r.patient = s.ref(e.Action), s.ref(e.Outcome), s.ref(e.Member), s.ref(e.Patient)
	r.clientID, r.reason, r.actor, r.clientIP = s.ref(e.ClientID), s.ref(e.Reason), s.ref(e.Actor), s.ref(e.ClientIP)
	if e.ResourceTypes != nil {
		r.flags |= hasTypes
		var buf [64]byte
		r.types = s.refBytes(typesKey(buf[:0], e.ResourceTypes))
	}
	l.putRequestID(r, e.RequestID)
	return l.first + uint64(l.n) - 1
}

// dropExpired drops, from the oldest, the records not after cut and the
// withdrawn ones. Events arrive in about time order, so it stops at the
// first one it keeps, as the Redis stream's MINID does.
func (l *eventLog) dropExpired(cut time.Time) {
	for l.n > 0 {
		r := l.at(0)
		if r.flags&withdrawn == 0 && r.after(cut) {
			return
		}
		if r.flags&withdrawn == 0 {
			l.release(r)
		}
		l.head++
		l.n--
		l.first++
		if l.head == eventChunk {
			l.chunks[0] = nil
			l.chunks = l.chunks[1:]
			l.head = 0
		}
	}
}

// withdraw marks the record of seq withdrawn and releases its strings; a
// seq no longer (or never) kept is ignored.
func (l *eventLog) withdraw(seq uint64) {
	if seq < l.first || seq-l.first >= uint64(l.n) {
		return
	}
	r := l.at(int(seq - l.first))
	if r.flags&withdrawn == 0 {
		l.release(r)
		r.flags |= withdrawn
	}
}

// release drops the record's holds on interned strings.
func (l *eventLog) release(r *record) {
	for _, id := range [...]uint32{r.action, r.outcome, r.member, r.patient, r.clientID, r.reason, r.actor, r.clientIP, r.types} {
		l.strs.release(id)
	}
	if r.reqKind == reqOther {
		l.strs.release(binary.LittleEndian.Uint32(r.req[:4]))
	}
}

// listed reports whether a record is still an event younger than cut.
func (r *record) listed(cut time.Time) bool {
	return r.flags&withdrawn == 0 && r.after(cut)
}

// after reports whether the record's time is after t.
func (r *record) after(t time.Time) bool {
	sec := t.Unix()
	return r.sec > sec || r.sec == sec && int64(r.nsec) > int64(t.Nanosecond())
}

// event rebuilds the record's event, with its ClientIP if withIP. Its
// ResourceTypes is the caller's own.
func (l *eventLog) event(r *record, withIP bool) apps.Event {
	s := &l.strs
	e := apps.Event{Time: time.Unix(r.sec, int64(r.nsec)).In(l.locs[r.loc]), Count: int(r.count),
		Action: s.str(r.action), Outcome: s.str(r.outcome), Member: s.str(r.member), Patient: s.str(r.patient),
		ClientID: s.str(r.clientID), Reason: s.str(r.reason), Actor: s.str(r.actor), RequestID: l.requestID(r)}
	if withIP {
		e.ClientIP = s.str(r.clientIP)
	}
	if r.flags&hasTypes != 0 {
		e.ResourceTypes = splitTypes(s.str(r.types))
	}
	return e
}

// locIndex returns loc's index in l.locs, adding it if there is room.
func (l *eventLog) locIndex(loc *time.Location) uint8 {
	for i, x := range l.locs {
		if x == loc {
			return uint8(i)
		}
	}
	if len(l.locs) > 255 {
		return 0
	}
	l.locs = append(l.locs, loc)
	return uint8(len(l.locs) - 1)
}

// typesKey appends each type followed by a NUL to buf.
func typesKey(buf []byte, types []string) []byte {
	for _, t := range types {
		buf = append(buf, t...)
		buf = append(buf, 0)
	}
	return buf
}

// splitTypes is typesKey's inverse: a new slice, never nil.
func splitTypes(key string) []string {
	n := 0
	for i := range len(key) {
		if key[i] == 0 {
			n++
		}
	}
	types := make([]string, 0, n)
	for start, i := 0, 0; i < len(key); i++ {
		if key[i] == 0 {
			types = append(types, key[start:i])
			start = i + 1
		}
	}
	return types
}

// putRequestID keeps id in r in the most compact form it has.
func (l *eventLog) putRequestID(r *record, id string) {
	switch {
	case id == "":
		r.reqKind = reqNone
	case len(id)%2 == 0 && len(id) <= 2*len(r.req) && lowerHex(id):
		r.reqKind, r.reqLen = reqHex, uint8(len(id)/2)
		decodeHex(r.req[:], id)
	case isUUID(id):
		r.reqKind = reqUUID
		decodeHex(r.req[:4], id[:8])
		decodeHex(r.req[4:6], id[9:13])
		decodeHex(r.req[6:8], id[14:18])
		decodeHex(r.req[8:10], id[19:23])
		decodeHex(r.req[10:], id[24:])
	default:
		r.reqKind = reqOther
		binary.LittleEndian.PutUint32(r.req[:4], l.strs.ref(id))
	}
}

// requestID rebuilds the record's request id.
func (l *eventLog) requestID(r *record) string {
	switch r.reqKind {
	case reqHex:
		return hex.EncodeToString(r.req[:r.reqLen])
	case reqUUID:
		var b [36]byte
		hex.Encode(b[:8], r.req[:4])
		hex.Encode(b[9:13], r.req[4:6])
		hex.Encode(b[14:18], r.req[6:8])
		hex.Encode(b[19:23], r.req[8:10])
		hex.Encode(b[24:], r.req[10:])
		b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
		return string(b[:])
	case reqOther:
		return l.strs.str(binary.LittleEndian.Uint32(r.req[:4]))
	}
	return ""
}

// lowerHex reports whether s is only lowercase hex digits, the form
// hex.EncodeToString gives back.
func lowerHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isUUID reports whether s is a UUID in its canonical lowercase form
// (RFC 9562 section 4), 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	return lowerHex(s[:8]) && lowerHex(s[9:13]) && lowerHex(s[14:18]) && lowerHex(s[19:23]) && lowerHex(s[24:])
}

// decodeHex writes the bytes of the lowercase hex s into dst.
func decodeHex(dst []byte, s string) {
	for i := 0; i+1 < len(s); i += 2 {
		dst[i/2] = unhex(s[i])<<4 | unhex(s[i+1])
	}
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}
