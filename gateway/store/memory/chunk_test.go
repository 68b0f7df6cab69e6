package memory

import (
	"math"
	"testing"
	"time"
)

// TestChunkHoldsLargestRecords: a chunk takes eventChunk records of the
// largest size encode writes; a mapped chunk's memory never moves (it is
// never copied to the heap and leaked), and every record reads back.
func TestChunkHoldsLargestRecords(t *testing.T) {
	at := time.Date(2300, 1, 2, 3, 4, 5, 999999999, time.UTC) // outside int64 nanoseconds: seconds and nanoseconds
	big := record{sec: at.Unix(), nsec: int64(at.Nanosecond()), count: math.MinInt64, loc: 255,
		action: math.MaxUint32, outcome: math.MaxUint32, member: math.MaxUint32, patient: math.MaxUint32,
		clientID: math.MaxUint32, reason: math.MaxUint32, actor: math.MaxUint32, clientIP: math.MaxUint32,
		types: math.MaxUint32, flags: hasTypes | reqHex<<reqShift, req: make([]byte, 16)}
	for _, tt := range []struct {
		name string
		c    *chunk
	}{
		{"new chunk", newChunk(0)},
		{"heap chunk", &chunk{mem: make([]byte, offsBytes)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			defer c.free()
			start := &c.mem[0]
			for i := range eventChunk {
				r := big
				r.req[15] = byte(i)
				c.add(i, r)
			}
			if c.mapped && &c.mem[0] != start {
				t.Fatal("a mapped chunk's memory moved")
			}
			for i := range eventChunk {
				r := decode(c.record(i), c.base)
				if r.sec != big.sec || r.nsec != big.nsec || r.count != big.count || r.types != big.types || len(r.req) != 16 || r.req[15] != byte(i) {
					t.Fatalf("record %d came back as %+v", i, r)
				}
			}
		})
	}
}
