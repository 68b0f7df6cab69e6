// Package redis is the Redis storage backend: its Store implements
// apps.Store and oauth.Storage over github.com/redis/go-redis/v9 and passes
// the conformance suite in gateway/store/storetest. It is the only package
// that imports go-redis. It works unchanged against one node, Sentinel and
// Cluster (see ParseURL for the URL forms).
//
// # Keys
//
// Every key starts with the prefix (default "pag:"; it must not contain a
// brace). Keys that one Lua script touches share a Cluster hash tag, so all
// of them live in one slot:
//
//	{apps}:app:<client id>        app JSON                        no expiry
//	{apps}:index                  sorted set of client ids        no expiry
//	{apps}:version                count of app changes (CORS index)  no expiry
//	applogo:<client id>           an app's logo (PNG bytes)       no expiry
//	{apps}:hist                   list of every app's history entries (JSON), oldest first  no expiry
//	{apps}:hist:<client id>       list of one app's history entries (JSON), oldest first    no expiry
//	appchecks:<client id>         the app's latest check results JSON                       no expiry
//	appwatch:<client id>          what the policy watch last saw of the app's pages (JSON)  no expiry
//	applast:<client id>           when the app last called the API (Unix ms)                no expiry
//	appgrants:<client id>         sorted set of the app's grant ids (grants made since the set existed)  the latest of its grants' deadlines
//	grant:<id>                    grant, binary (encodeGrant, without its id; JSON from older gateways)  PEXPIREAT its end (expiry, or revocation if sooner) + the audit retention
//	grants:<member>               sorted set of the member's grant ids  the latest of its grants' deadlines
//	member:<username>             member JSON                     no expiry
//	mlink:<member key>            member ↔ Patient link JSON      no expiry (its age is judged by oauth)
//	sess:<id>                     login session JSON              PEXPIREAT ExpiresAt
//	events                        stream of audit events, no client IP  XADD MINID now-retention
//	mevents:<member key>          stream of one member's events, with client IP (their access history)  XADD MINID now-retention
//	marker                        when the store was first used   no expiry; gone means Redis lost its data
//	tok:<kind>:<signature>        the request id (a pointer: a UUID as 0x01 and its 16 bytes, any other id as text; for an access token, NUL and its client id)  PEXPIREAT ExpiresAt+InactiveTail (a used record's: InactiveTail after the use; a dropped record's is deleted)
//	{req:<id>}:toks               hash: the request's records, "<kind>:<sig>" → the record (Records); "" for one an older gateway keeps in a key of its own (a set, from older still)  the latest of its records' deadlines
//	{req:<id>}:used               hash: the tombstones of the request's used codes and rotated refresh tokens, "<kind>:<sig>" → deadline and tombstone  the latest of their deadlines (each InactiveTail after its use at most)
//	{req:<id>}:tok:<kind>:<sig>   an older gateway's record in a key of its own: hash of rec, active (chk, exp)  read, used and revoked until it expires; never written
//	whook:<id>                    a revocation notice (webhook.Delivery JSON)  PXAT its creation + the audit retention
//	whooks:due                    sorted set: pending notices by when due (or leased until)  the latest of its notices' deadlines
//	whooks:all, whooks:app:<id>   sorted sets: notices by creation time, all and per app  the latest of its notices' deadlines (entries past the retention trimmed at each notice and list)
//	jti:<id>                      a used client assertion's expiry  PXAT its expiry (SET NX: one use)
//	rate:<prefix>throttle:<kind>:{<subject>}  limiter state (a GCRA time)  EX until back to a full burst
//
// The limiter keys are the exception to the prefix rule: the limiter is
// github.com/go-redis/redis_rate, which puts its own "rate:" in front of
// the key it is given (so clean-ups must scan rate:<prefix> too). The
// oauth package names them KIND:SUBJECT, and the subject (a client's or
// a username's keyed digest) is the hash tag, so that a client's
// client-auth and introspect keys share a slot: an introspection's gate
// (gateScript, in its token check's pipeline) looks at the first and
// takes from the second in one script, with redis_rate's arithmetic on
// redis_rate's state. The scripts read Redis's clock (TIME), not the
// injected one, so every replica judges a limit by the same clock. (An
// older gateway's keys had no hash tag: a gateway that moves to these
// starts every throttle afresh.)
//
// # Tokens, and why records carry the request's hash tag
//
// fosite finds a token by its signature, but revokes by request id, and
// oauth.TokenStore promises that revoking a request removes all of its
// records or none. In a Cluster, records keyed by signature alone would be
// spread over many slots, and no single script could delete them together.
// So a request's records are the fields of one hash, the request's, which
// is also its index, and a small pointer key maps each signature to the
// request id. One key per request rather than one per record is what
// keeps a live grant with its tokens under 2 KiB of Redis: each key costs
// some 70–100 bytes before its value (its name, its object, the main and
// the expiry dictionaries' entries), a record's name alone about 100.
// A record's tombstone goes to the request's used hash, next to it (same
// hash tag), which lives only as long as the tombstones it holds.
//
//   - CreateToken runs one script in the request's slot (write the record
//     into the request's hash, extend the hash's expiry), then sets the
//     pointer. A reader that finds the pointer finds the record.
//   - GetToken reads the pointer, then runs one script that reads the
//     record wherever it is (the request's hash, its used hash, or the
//     key of its own an older gateway gave it): two round trips.
//   - CheckAccess (the FHIR API's token check) reads the pointer, then the
//     record's field (HGET), the grant and the app in one pipeline; a
//     caller that already knows the token's request and client skips the
//     pointer: one round trip. CheckAccessAppend adds the audit event's
//     two appends (the plan's stream and the member's) to that same
//     pipeline, so a FHIR call's liveness check and its record cost one
//     round trip; the pipeline spans slots and is no transaction, so a
//     caller that refuses the token withdraws the entries (XDEL of the
//     ids the appends returned, WithdrawEvents). A record not in the
//     request's hash (a tombstone, or an older gateway's) is read whole
//     after it, by GetToken. Concurrent checks share pipelines (group
//     commit, see batcher): a check sent while two are on the wire waits
//     for one of them to return and goes out with every other check that
//     waited, so under load Redis and the gateway make one write and one
//     read for many calls; an idle store sends at once.
//     CheckAccessGated, an introspection's check, adds its throttles'
//     script (gateScript, by EVALSHA; a NOSCRIPT answer runs it again on
//     its own, which loads it) to its first round trip: the pointer's
//     (which is then group-committed too) or the check's pipeline, so
//     that an introspection of a token already seen costs one round trip.
//   - DeactivateToken reads the pointer, then runs one check-and-set script
//     on the request's keys; Redis runs scripts one at a time, so
//     concurrent callers are serialised and exactly one wins.
//   - RevokeRequest reads the members of the request's hash, then runs
//     one script in the request's slot whose KEYS are the hash, the used
//     hash and the own keys (of older gateways) of the chosen members. The
//     script first checks that the hash holds no record of the wanted
//     kinds beyond those it was given (a token issued in between); if it
//     does, it changes nothing and the call retries. So every record is
//     removed, or none, and every key a script touches is declared, which
//     keeps scripts correct on Cluster even while a slot migrates.
//     Pointers are left to expire: a pointer whose record is gone reads as
//     oauth.ErrNotFound.
//   - DeleteToken removes the record in one script, then the pointer. If
//     it fails between the two, the leftover pointer is harmless and
//     expires.
//   - UseToken, the token endpoint's one write, reads the pointers of the
//     used record and of the records to drop (all must name the same
//     request) and writes the pointers of the records it issues, in one
//     pipeline, then runs one script in the request's slot that
//     checks-and-sets the used record, deletes the dropped records (and,
//     for a refresh, the access token the used record names, which it
//     reads itself) and writes the issued ones. A pointer without its
//     record reads as not found, so nothing a reader can see changes
//     before the script, and the script changes all or nothing: a failure
//     anywhere leaves the code or refresh token usable for the client's
//     retry. If the script does not succeed (the token was used
//     meanwhile, or belongs to another request), the new pointers are
//     deleted again; if it succeeds, the pointers of the used and dropped
//     records are moved to the tombstone's deadline or deleted after it
//     (best effort: a leftover expires). Three round trips. A used record
//     of an older gateway's, in a key of its own, has its access token in
//     one too, which the script must declare: it answers so, having
//     changed nothing, and is run again with that key.
//
// # Records
//
// A record in its request's hash (encodeInline) is: 0x03, its active
// flag (one byte), an access token's claims (a uvarint length and the
// bytes), then its binary form (encodeRecord): a version byte (0x02), the
// lengths of the two parts of its header, the part a tombstone keeps
// (the expiry and the client id), the rest (the access signature), then
// the request as oauth stores it (its own compact binary projection, see
// oauth's projection.go), opaque here. The request id is not repeated:
// it is in the key and the pointer. The token check reads the flag, the
// claims and the expiry without decoding the rest.
//
// A used-up record (a code, a rotated refresh token) becomes a tombstone:
// the scripts that deactivate it remove it from the request's hash and
// write, in the request's used hash, its deadline (8 bytes, ms) and the
// version byte, lengths and tombstone part of its binary form, some 45
// bytes in all. That is what detecting its reuse needs (it exists, it is
// used, its request and client, so that the grant is revoked). The used
// hash holds values short enough for Redis's compact encoding; each
// retirement drops the tombstones past their deadline, and the hash
// expires with the last of them.
//
// Records written by older gateways are read, used and revoked until they
// expire, never written: a key of its own per record
// ({req:<id>}:tok:<kind>:<sig>, a hash of "rec" in the binary form or, older
// still, JSON starting with '{', "active", and an access token's "chk"
// and "exp"), listed in the request's hash with an empty value or in a
// set that the next write turns into the hash; a used one is retired in
// its own key.
//
// # Expiry
//
// Every token and session key has an absolute deadline (PEXPIREAT), so
// Redis itself drops them. Reads also compare the stored deadline with the
// injected clock (WithNow), which keeps the backend exact between Redis's
// lazy and active expiry, and lets the conformance suite test expiry
// without sleeping. A record used up by UseToken (a code, or a rotated
// refresh token) is kept, with its pointer, only oauth.InactiveTail from
// then (long enough to detect its reuse), not for the rest of its own
// life. A record in its request's hash is found until its pointer
// expires; its bytes go when the request's next use removes it (a
// refresh drops the access token it replaces) or with the hash, at the
// latest of the request's deadlines. A grant is kept the audit retention
// (WithAuditRetention) after it
// ended, by expiry or revocation (apps.Grant.KeepUntil), as long as the
// member's access history that its page shows, and then dropped; GetGrant
// and the lists judge that deadline by the injected clock too. The
// member's and the app's grant indexes live as long as their
// longest-kept grant, and the ids of dropped grants are taken out of them
// when they are read. A grant stored before grants had an end keeps no
// expiry until it is revoked. Apps and members do not expire. Audit events
// are kept for the retention (WithAuditRetention, default
// apps.DefaultAuditRetention) by time, never by count: each append drops,
// in the same command, the entries older than that (XADD MINID; stream
// ids are Redis's milliseconds, the cut is the gateway's wall clock, no
// script: see queueEvent), and ListEvents skips events older than that by
// the store's clock, like token reads.
//
// Redis 6.2 or later is required (SET … PXAT); TokenExpiry and
// SessionExpiry, used by the tests, need 7.0 (PEXPIRETIME).
//
// # Revocation notices
//
// A claim is one script on the due set alone: it takes the ids due now
// and moves their score to the end of the lease, so a concurrent claim on
// another replica cannot take them; an update puts a pending notice back
// at its next attempt, or takes a finished one out.
//
// # Grants
//
// CreateGrant sets the grant key only if absent, then adds its id to the
// member's index; if the second step fails it deletes the grant again
// (best effort) and returns the error. RevokeGrant is an optimistic
// WATCH/MULTI transaction on the grant key alone; it moves the key's
// expiry to the retention after the revocation.
package redis
