package memory

import (
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// record is an audit event as a chunk keeps it, decoded: its strings are
// ids in the log's internTable, its time Unix seconds and nanoseconds
// with an index in the log's locations, and its request id, when it has
// the gateway's form (24 hex digits) or another hex or UUID form, bytes.
// Encoded (encode), it is varints, the member's and the app's first: a
// FHIR read's event takes about 30 bytes.
type record struct {
	sec   int64 // Time, Unix seconds
	nsec  int64
	count int64 // Count
	loc   uint64
	// internTable ids of the event's strings.
	action, outcome, member, patient, clientID, reason, actor, clientIP uint32
	// types is the id of the resource types, each followed by a NUL
	// (Bounded replaced control characters, so none is in a type); with
	// hasTypes unset they are nil.
	types uint32
	flags byte
	req   []byte // the request id's bytes (reqHex, reqUUID)
	reqID uint32 // the request id's table id (reqOther)
}

// record flags, the first byte of an encoded record.
const (
	hasTypes  = 1 << iota // ResourceTypes is not nil (it may be empty)
	withdrawn             // WithdrawEvents removed it: it is skipped, then dropped
	wideTime              // the time is seconds and nanoseconds, not nanoseconds from the base
	hasLoc                // the time's location is not UTC
	reqShift  = iota      // the request id's kind (reqNone...) is flags>>reqShift
)

// How a record holds its request id.
const (
	reqNone    = iota // no request id
	reqGateway        // 24 lowercase hex digits, the gateway's own ids: 12 bytes
	reqHex            // lowercase hex of an even length up to 32 digits: its length, then its bytes
	reqUUID           // a UUID in its canonical lowercase form: 16 bytes
	reqOther          // any other id: interned, its table id
)

// eventLog keeps the store's audit events in append order, oldest first,
// as encoded records in chunks. An event's seq (its ref for
// WithdrawEvents) is its place in the order: the oldest kept record's seq
// is first, and a withdrawn record keeps its place, marked, until the
// retention drops it.
type eventLog struct {
	chunks []*chunk
	head   int    // index in chunks[0] of the oldest kept record
	n      int    // records kept, withdrawn ones included
	first  uint64 // the oldest kept record's seq; the next seq when n is 0
	strs   internTable
	// locs are the locations of the events' times other than UTC, which is
	// index 0.
	locs []*time.Location
}

func newEventLog() eventLog {
	return eventLog{first: 1, strs: newInternTable(), locs: []*time.Location{time.UTC}}
}

// place returns the chunk and the index in it of the record at place p, 0
// being the oldest kept.
func (l *eventLog) place(p int) (*chunk, int) {
	g := l.head + p
	return l.chunks[g/eventChunk], g % eventChunk
}

// at returns the record at place p.
func (l *eventLog) at(p int) record {
	c, i := l.place(p)
	return decode(c.record(i), c.base)
}

// prevOf returns the place of the newest record at or before place from
// whose member is member, or -1. The member is the first thing encode
// writes after the flags, and varints are a prefix-free code, so this
// compares the first bytes of each record with the member's encoding: a
// member's history scans the log.
func (l *eventLog) prevOf(member uint32, from int) int {
	var buf [binary.MaxVarintLen32]byte
	key := binary.AppendUvarint(buf[:0], uint64(member))
	for p := from; p >= 0; {
		c, i := l.place(p)
		for ; i >= 0 && p >= 0; i, p = i-1, p-1 {
			if b := c.record(i)[1:]; len(b) >= len(key) && string(b[:len(key)]) == string(key) {
				return p
			}
		}
	}
	return -1
}

// append keeps e, which the caller has bounded (apps.Event.Bounded), and
// returns its seq.
func (l *eventLog) append(e apps.Event) uint64 {
	s := &l.strs
	r := record{sec: e.Time.Unix(), nsec: int64(e.Time.Nanosecond()), count: int64(e.Count), loc: l.locIndex(e.Time.Location()),
		action: s.ref(e.Action), outcome: s.ref(e.Outcome), member: s.ref(e.Member), patient: s.ref(e.Patient),
		clientID: s.ref(e.ClientID), reason: s.ref(e.Reason), actor: s.ref(e.Actor), clientIP: s.ref(e.ClientIP)}
	if e.ResourceTypes != nil {
		r.flags |= hasTypes
		var buf [64]byte
		r.types = s.refBytes(typesKey(buf[:0], e.ResourceTypes))
	}
	var req [16]byte
	l.putRequestID(&r, req[:0], e.RequestID)
	c, i := l.room()
	if i == 0 {
		c.base = 0
		if ns, ok := nanos(r.sec, r.nsec); ok {
			c.base = ns
		}
	}
	c.add(i, r)
	l.n++
	return l.first + uint64(l.n) - 1
}

// room returns the chunk and index of the next record, adding a chunk
// when the last is full.
func (l *eventLog) room() (*chunk, int) {
	g := l.head + l.n
	if g/eventChunk == len(l.chunks) {
		size := 4 << 10
		if len(l.chunks) > 0 {
			size = l.chunks[len(l.chunks)-1].used() - offsBytes + maxRecord // the last one's, most likely enough
		}
		l.chunks = append(l.chunks, newChunk(size))
	}
	return l.chunks[g/eventChunk], g % eventChunk
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
			l.chunks[0].free()
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
	p := int(seq - l.first)
	if r := l.at(p); r.flags&withdrawn == 0 {
		l.release(r)
		c, i := l.place(p)
		c.record(i)[0] |= withdrawn
	}
}

// release drops the record's holds on interned strings.
func (l *eventLog) release(r record) {
	for _, id := range [...]uint32{r.action, r.outcome, r.member, r.patient, r.clientID, r.reason, r.actor, r.clientIP, r.types} {
		l.strs.release(id)
	}
	if r.flags>>reqShift == reqOther {
		l.strs.release(r.reqID)
	}
}

// listed reports whether a record is still an event younger than cut.
func (r record) listed(cut time.Time) bool {
	return r.flags&withdrawn == 0 && r.after(cut)
}

// after reports whether the record's time is after t.
func (r record) after(t time.Time) bool {
	sec := t.Unix()
	return r.sec > sec || r.sec == sec && r.nsec > int64(t.Nanosecond())
}

// event rebuilds the record's event, with its ClientIP if withIP. Its
// ResourceTypes is the caller's own.
func (l *eventLog) event(r record, withIP bool) apps.Event {
	s := &l.strs
	e := apps.Event{Time: time.Unix(r.sec, r.nsec).In(l.locs[r.loc]), Count: int(r.count),
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

// locIndex returns loc's index in l.locs, adding it if there is room; a
// location past the 256th is kept as UTC (the same instant).
func (l *eventLog) locIndex(loc *time.Location) uint64 {
	for i, x := range l.locs {
		if x == loc {
			return uint64(i)
		}
	}
	if len(l.locs) >= 256 {
		return 0
	}
	l.locs = append(l.locs, loc)
	return uint64(len(l.locs) - 1)
}

// nanos returns the time as Unix nanoseconds, false if they would not fit
// an int64 (before 1678 or after 2262).
func nanos(sec, nsec int64) (int64, bool) {
	const limit = 9_000_000_000 // seconds, about 2255
	if sec <= -limit || sec >= limit {
		return 0, false
	}
	return sec*1e9 + nsec, true
}

// encode appends the record to b, its time counted from base.
func (r record) encode(b []byte, base int64) []byte {
	flags := r.flags
	ns, narrow := nanos(r.sec, r.nsec)
	if !narrow {
		flags |= wideTime
	}
	if r.loc != 0 {
		flags |= hasLoc
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(r.member))
	b = binary.AppendUvarint(b, uint64(r.clientID))
	if narrow {
		b = binary.AppendVarint(b, int64(uint64(ns)-uint64(base))) // wraps, and back in decode
	} else {
		b = binary.AppendVarint(b, r.sec)
		b = binary.AppendUvarint(b, uint64(r.nsec))
	}
	if r.loc != 0 {
		b = binary.AppendUvarint(b, r.loc)
	}
	for _, id := range [...]uint32{r.action, r.outcome, r.patient, r.reason, r.actor, r.clientIP} {
		b = binary.AppendUvarint(b, uint64(id))
	}
	if r.flags&hasTypes != 0 {
		b = binary.AppendUvarint(b, uint64(r.types))
	}
	b = binary.AppendVarint(b, r.count)
	switch r.flags >> reqShift {
	case reqHex:
		b = append(b, byte(len(r.req)))
		b = append(b, r.req...)
	case reqGateway, reqUUID:
		b = append(b, r.req...)
	case reqOther:
		b = binary.AppendUvarint(b, uint64(r.reqID))
	}
	return b
}

// decode reads the record at the start of b, its time counted from base.
// Its req is a piece of b.
func decode(b []byte, base int64) record {
	d := decoder{b: b[1:]}
	r := record{flags: b[0], member: uint32(d.uvarint()), clientID: uint32(d.uvarint())}
	if r.flags&wideTime == 0 {
		ns := int64(uint64(base) + uint64(d.varint()))
		r.sec, r.nsec = ns/1e9, ns%1e9
		if r.nsec < 0 {
			r.sec, r.nsec = r.sec-1, r.nsec+1e9
		}
	} else {
		r.sec, r.nsec = d.varint(), int64(d.uvarint())
	}
	if r.flags&hasLoc != 0 {
		r.loc = d.uvarint()
	}
	for _, id := range [...]*uint32{&r.action, &r.outcome, &r.patient, &r.reason, &r.actor, &r.clientIP} {
		*id = uint32(d.uvarint())
	}
	if r.flags&hasTypes != 0 {
		r.types = uint32(d.uvarint())
	}
	r.count = d.varint()
	switch r.flags >> reqShift {
	case reqGateway:
		r.req = d.bytes(12)
	case reqHex:
		r.req = d.bytes(int(d.bytes(1)[0]))
	case reqUUID:
		r.req = d.bytes(16)
	case reqOther:
		r.reqID = uint32(d.uvarint())
	}
	return r
}

// decoder reads the varints and bytes of a record that encode wrote.
type decoder struct{ b []byte }

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n int) []byte {
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
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

// putRequestID sets how r keeps id, in the most compact form it has; buf
// has room for 16 bytes.
func (l *eventLog) putRequestID(r *record, buf []byte, id string) {
	kind := reqOther
	switch {
	case id == "":
		kind = reqNone
	case len(id) == 24 && lowerHex(id):
		kind, r.req = reqGateway, decodeHex(buf, id)
	case len(id)%2 == 0 && len(id) <= 32 && lowerHex(id):
		kind, r.req = reqHex, decodeHex(buf, id)
	case isUUID(id):
		kind = reqUUID
		for _, part := range [...]string{id[:8], id[9:13], id[14:18], id[19:23], id[24:]} {
			buf = decodeHex(buf, part)
		}
		r.req = buf
	default:
		r.reqID = l.strs.ref(id)
	}
	r.flags |= byte(kind) << reqShift
}

// requestID rebuilds the record's request id.
func (l *eventLog) requestID(r record) string {
	switch r.flags >> reqShift {
	case reqGateway, reqHex:
		return hex.EncodeToString(r.req)
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
		return l.strs.str(r.reqID)
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

// decodeHex appends the bytes of the lowercase hex s to dst.
func decodeHex(dst []byte, s string) []byte {
	for i := 0; i+1 < len(s); i += 2 {
		dst = append(dst, unhex(s[i])<<4|unhex(s[i+1]))
	}
	return dst
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}
