// Package memory is the in-memory storage backend: the embedded default
// when no Redis is configured. Its Store implements apps.Store and
// oauth.Storage and passes the conformance suite in gateway/store/storetest.
//
// Nothing survives a restart, and nothing is shared between replicas, so it
// suits one process (demo, development, tests) only.
//
// Expiry mirrors the Redis backend: a token record is gone at its
// ExpiresAt+oauth.InactiveTail and a login session at its ExpiresAt, judged
// with the injected clock on every read; a grant is forgotten at its
// apps.Grant.KeepUntil (the audit retention after it ended). Expired entries are also swept out
// every sweepEvery writes, so memory does not grow without bound; there is
// no background goroutine. The limiter (oauth.Limiter) keeps one time per
// key, judged by the same clock, and a key back to its full burst is swept
// out likewise. Audit events are kept for the retention
// (WithAuditRetention, apps.DefaultAuditRetention by default) and dropped
// after it, judged by each event's Time, like the Redis stream's MINID.
//
// The audit events are most of what the store holds (one per FHIR call,
// for the retention), so they are kept compact (events.go): each is a
// record of varints in a chunk of 512 (chunk.go), memory that holds no
// pointers and, on Linux, is mapped outside the Go heap, so that the
// collector neither scans it nor leaves its GOGC headroom over it, and is
// unmapped when the retention drops the chunk; its strings are interned in
// a table of the store's own (counted by the records that hold them and
// forgotten with the last), its time in nanoseconds from its chunk's first
// (or as seconds and nanoseconds outside the int64 nanoseconds' years),
// and its request id as bytes when it is hex (the gateway's own ids) or a
// UUID. A FHIR read's event takes about 30 bytes, off the heap on Linux
// (nothing of it on the heap but its share of the interned strings and its
// chunk's header: TestEventHeapPerEvent); the event is rebuilt on read,
// its strings copies, never pieces of a chunk. A member's history compares
// the first bytes of each record, the member's id, and decodes only the
// member's. A withdrawn event (WithdrawEvents) is marked and its strings
// released; its record goes with the retention.
//
// A used code's or rotated refresh token's tombstone, kept a day so that
// its reuse is detected (oauth.InactiveTail), is the other thing that
// grows with requests, one per refresh, so it is kept compact too
// (tombs.go): its kind and signature as a 48-byte key and its ExpiresAt,
// deadline and request as a 24-byte value, in a map without pointers,
// its request id and client shared by the request's tombstones: about
// 120 bytes of heap each (TestTombstoneHeap), against about 510 as a
// whole record. A revoked request's tombstones are dropped as they are
// met, or by the sweep.
//
// One mutex guards everything. Values go in and come out as deep copies, so
// a caller can never change stored data through a slice it holds.
package memory
