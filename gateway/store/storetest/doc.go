// Package storetest is the one conformance suite every storage backend in
// gateway/store must pass: it pins the behaviour that apps.Store and
// oauth.Storage promise in their doc comments. Each backend's test file
// calls Run with a function that opens a fresh, empty backend.
//
// What is tested where, honestly:
//
//   - Read-side expiry (a token record is gone at ExpiresAt+InactiveTail, a
//     session at ExpiresAt) is tested by moving the suite's Clock, which
//     every backend must take as its notion of "now". The memory backend
//     relies on this alone. The Redis backend checks it too, on every read,
//     but its real expiry is Redis's own clock deleting keys.
//   - Server-side expiry is therefore tested through Expirer, an optional
//     interface: when a backend implements it, the suite checks that the
//     deadline it reports (for Redis, PEXPIRETIME of every key behind a
//     token or session) is exactly the promised one. The suite never waits
//     for Redis to delete a key, so Redis's own expiry mechanism is trusted,
//     not tested.
//   - The limiter (oauth.Limiter) is tested the same way: by moving the
//     Clock, and, for a backend whose limiter reads the server's clock
//     (an Expirer: Redis's TIME), by also letting real time pass under a
//     limit of half a second.
//   - Atomicity is tested only where a race is observable through the
//     interface: 50 goroutines deactivating or using one record must yield
//     exactly one success, and only the winner's issued records exist. RevokeRequest's all-or-nothing promise under failure
//     (a connection dropped mid-way) is argued in the Redis backend's
//     doc.go, not tested here.
//
// The Clock starts near the real time (rounded to the millisecond, Redis's
// expiry resolution) so that deadlines the suite writes are in the future
// for a real server too.
package storetest
