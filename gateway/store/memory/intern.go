package memory

import "strings"

// internTable gives each distinct string a small id, counted by the
// records that hold it, so that the audit events can be kept as
// pointer-free records (events.go): a member, an app, an address repeats
// in thousands of events and is stored once. A string is forgotten when
// its last holder releases it, and its id is used again. Id 0 is "" and
// is never counted.
type internTable struct {
	ids     map[string]uint32
	entries []internEntry // by id; entries[0] is ""
	free    []uint32      // ids of forgotten strings, to use again
}

type internEntry struct {
	s    string
	refs uint32
}

func newInternTable() internTable {
	return internTable{ids: map[string]uint32{}, entries: make([]internEntry, 1)}
}

// ref returns s's id, counting one more holder.
func (t *internTable) ref(s string) uint32 {
	if s == "" {
		return 0
	}
	if id, ok := t.ids[s]; ok {
		t.entries[id].refs++
		return id
	}
	return t.add(strings.Clone(s)) // not a piece of a larger string it would keep
}

// refBytes is ref of string(b), without a copy when the string is known.
func (t *internTable) refBytes(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	if id, ok := t.ids[string(b)]; ok {
		t.entries[id].refs++
		return id
	}
	return t.add(string(b))
}

// add stores a string not in the table with one holder.
func (t *internTable) add(s string) uint32 {
	var id uint32
	if n := len(t.free); n > 0 {
		id, t.free = t.free[n-1], t.free[:n-1]
		t.entries[id] = internEntry{s: s, refs: 1}
	} else {
		id = uint32(len(t.entries))
		t.entries = append(t.entries, internEntry{s: s, refs: 1})
	}
	t.ids[s] = id
	return id
}

// release drops one holder of id, and the string with its last.
func (t *internTable) release(id uint32) {
	if id == 0 {
		return
	}
	e := &t.entries[id]
	if e.refs--; e.refs > 0 {
		return
	}
	delete(t.ids, e.s)
	*e = internEntry{}
	t.free = append(t.free, id)
}

// str returns the string of id.
func (t *internTable) str(id uint32) string { return t.entries[id].s }

// lookup returns s's id without counting a holder; false if no record
// holds s.
func (t *internTable) lookup(s string) (uint32, bool) {
	if s == "" {
		return 0, true
	}
	id, ok := t.ids[s]
	return id, ok
}

// len returns the number of strings held.
func (t *internTable) len() int { return len(t.ids) }
