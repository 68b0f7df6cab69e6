package memory

import (
	"encoding/binary"
	"runtime"
	"slices"
)

// eventChunk is how many records one chunk of the event log holds: the
// log grows by chunks, never by copying what it keeps, and the retention
// frees whole chunks.
const eventChunk = 512

// maxRecord bounds an encoded record: the flags, a time as seconds and
// nanoseconds, a location, nine table ids, the count and a request id of
// 16 bytes and its length.
const maxRecord = 1 + binary.MaxVarintLen64 + binary.MaxVarintLen32 + binary.MaxVarintLen32 +
	9*binary.MaxVarintLen32 + binary.MaxVarintLen64 + 1 + 16

// offsBytes is the room a chunk's record offsets take at the start of its
// memory, a uint16 each.
const offsBytes = 2 * eventChunk

// chunkBytes is the most memory a chunk's offsets and records take: what
// a chunk off the Go heap reserves, of which only the pages written to
// are ever resident.
const chunkBytes = offsBytes + eventChunk*maxRecord

// A chunk's last record starts within a uint16's reach (a compile-time
// check: the constant overflows otherwise).
const _ uint16 = offsBytes + (eventChunk-1)*maxRecord

// chunk holds up to eventChunk records: mem holds their offsets (a
// little-endian uint16 each, from mem's start) and then the records,
// encoded back to back; its length is what is used. Nothing in mem is a
// pointer, so on Linux mem is anonymous memory mapped outside the Go heap
// (chunkmem_linux.go), chunkBytes long from the start: the collector
// neither scans it nor counts it when it sets the heap's next goal, so
// the RSS grows by the records' bytes rather than by those and the GOGC
// headroom over them. Elsewhere, or when the mapping fails, mem is an
// ordinary slice that grows as records are added.
//
// Mapped memory is unmapped when the retention drops the chunk (free),
// or by a cleanup once the chunk is unreachable (a store dropped whole).
// Nothing may keep a slice of mem past the store's lock: decoded records
// are read under it, and every string handed out is a copy.
type chunk struct {
	mem     []byte
	base    int64 // Unix nanoseconds the records' times count from
	mapped  bool
	cleanup runtime.Cleanup
}

// newChunk returns an empty chunk; sizeHint is the bytes its records
// will likely take, which an ordinary slice starts with.
func newChunk(sizeHint int) *chunk {
	if m, ok := mapChunk(chunkBytes); ok {
		c := &chunk{mem: m[:offsBytes], mapped: true}
		c.cleanup = runtime.AddCleanup(c, unmapChunk, m)
		return c
	}
	return &chunk{mem: make([]byte, offsBytes, offsBytes+sizeHint)}
}

// off returns where record i starts in mem.
func (c *chunk) off(i int) int { return int(binary.LittleEndian.Uint16(c.mem[2*i:])) }

// record returns the bytes of mem from record i's start.
func (c *chunk) record(i int) []byte { return c.mem[c.off(i):] }

// add appends record i, encoded from base; a record fills the chunk when
// i is its last.
func (c *chunk) add(i int, r record) {
	binary.LittleEndian.PutUint16(c.mem[2*i:], uint16(len(c.mem)))
	if !c.mapped && cap(c.mem)-len(c.mem) < maxRecord {
		c.mem = slices.Grow(c.mem, max(maxRecord, len(c.mem)/4))
	}
	c.mem = r.encode(c.mem, c.base) // mapped: within chunkBytes, never moved
	if i == eventChunk-1 && !c.mapped {
		c.mem = slices.Clip(slices.Clone(c.mem)) // full: keep no spare capacity
	}
}

// used returns the bytes the chunk's offsets and records take.
func (c *chunk) used() int { return len(c.mem) }

// free gives back the chunk's mapped memory at once; the chunk is not
// used again.
func (c *chunk) free() {
	if c.mapped {
		c.cleanup.Stop()
		unmapChunk(c.mem[:cap(c.mem)])
	}
	c.mem = nil
}
