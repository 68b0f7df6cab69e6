package redis_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/store/redis"
	"github.com/patientaccess/gateway/gateway/store/storetest"
	"github.com/patientaccess/gateway/oauth"
)

// testURL is the Redis the tests use; database 15 keeps them apart from
// anything in database 0.
func testURL() string {
	if u := os.Getenv("GATEWAY_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/15"
}

// testClient connects to the test Redis. When it does not answer, the test
// fails in CI (CI set) and is skipped elsewhere.
func testClient(t testing.TB) goredis.UniversalClient {
	t.Helper()
	opts, err := redis.ParseURL(testURL())
	if err != nil {
		t.Fatalf("GATEWAY_TEST_REDIS_URL: %v", err)
	}
	c := goredis.NewUniversalClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		msg := fmt.Sprintf("Redis at %v does not answer (%v); start one or set GATEWAY_TEST_REDIS_URL", opts.Addrs, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newStore returns a store on c under a fresh key prefix, whose keys are
// deleted when t ends (by SCAN on the prefix, never FLUSHDB).
func newStore(t testing.TB, c goredis.UniversalClient, opts ...redis.Option) (*redis.Store, string) {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "pagtest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		for _, key := range append(scanKeys(t, c, prefix), scanKeys(t, c, "rate:"+prefix)...) {
			if err := c.Del(context.Background(), key).Err(); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return redis.New(c, append([]redis.Option{redis.WithPrefix(prefix)}, opts...)...), prefix
}

// scanKeys lists the keys under prefix, on every master of a cluster.
func scanKeys(t testing.TB, c goredis.UniversalClient, prefix string) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	scan := func(ctx context.Context, n goredis.Cmdable) error {
		iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		return iter.Err()
	}
	var err error
	if cc, ok := c.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error { return scan(ctx, n) })
	} else {
		err = scan(ctx, c)
	}
	if err != nil {
		t.Fatalf("scan %s*: %v", prefix, err)
	}
	return keys
}

func TestConformance(t *testing.T) {
	c := testClient(t)
	c.AddHook(sameSlotHook{t})
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) storetest.Backend {
		s, _ := newStore(t, c, redis.WithNow(clock.Now))
		return s
	})
}

// TestEveryKeyExpires writes one of everything and checks that exactly the
// durable keys (apps, members, events) have no expiry: a grant and its
// indexes expire the audit retention after the grant's end, and a limiter
// key once its key would be back to a full burst.
func TestEveryKeyExpires(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c)
	now := time.Now().UTC()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateApp(ctx, apps.App{ClientID: "app1", CreatedAt: now}))
	grant := apps.Grant{ID: "g1", Member: "alice", ClientID: "app1", CreatedAt: now, ExpiresAt: now.AddDate(0, 13, 0)}
	must(s.CreateGrant(ctx, grant))
	must(s.AppendHistory(ctx, apps.HistoryEntry{ClientID: "app1", At: now, Action: apps.ActionRegister}))
	must(s.PutChecks(ctx, apps.Checks{ClientID: "app1", RanAt: now}))
	must(s.PutPolicyWatch(ctx, apps.PolicyWatch{ClientID: "app1", CheckedAt: now}))
	must(s.NoteAppCall(ctx, "app1", now))
	must(s.AppendEvent(ctx, apps.Event{Time: now, Action: "token"}))
	must(s.PutMember(ctx, oauth.Member{Username: "alice"}))
	must(s.PutSession(ctx, oauth.LoginSession{ID: "s1", ExpiresAt: now.Add(time.Hour)}))
	for _, k := range oauth.AllKinds {
		must(s.CreateToken(ctx, k, "sig-"+string(k), oauth.TokenRecord{RequestID: "g1", Active: true, ExpiresAt: now.Add(time.Hour)}))
	}
	every := time.Minute
	if _, err := s.Allow(ctx, "login:k", oauth.Limit{Burst: 10, Every: every}); err != nil {
		t.Fatal(err)
	}
	rateKeys := scanKeys(t, c, "rate:"+prefix)
	if len(rateKeys) != 1 {
		t.Errorf("found %d limiter keys, want 1: %q", len(rateKeys), rateKeys)
	}
	for _, key := range rateKeys {
		if ttl, err := c.PTTL(ctx, key).Result(); err != nil || ttl <= 0 || ttl > every {
			t.Errorf("limiter key %s: PTTL %v %v, want at most %s", key, ttl, err, every)
		}
	}
	keepUntil := grant.KeepUntil(apps.DefaultAuditRetention)
	wantMS := (keepUntil.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond) // rounded up
	for _, key := range []string{"grant:g1", "grants:alice", "appgrants:app1"} {
		at, err := c.PExpireTime(ctx, prefix+key).Result()
		if err != nil || at/time.Millisecond != time.Duration(wantMS) {
			t.Errorf("key %s expires at %d ms (%v), want the grant's end plus the audit retention, %d ms", key, at/time.Millisecond, err, wantMS)
		}
	}
	durable := []string{"{apps}:", "member:", "events", "appchecks:", "appwatch:", "applast:"}
	keys := scanKeys(t, c, prefix)
	// app, app index, apps version, grant, grants, member, events, session
	// (8); the history (2 lists), checks, watch, last call, app grants (6);
	// a pointer per token kind; the request's hash, which holds the records.
	if want := 8 + 6 + len(oauth.AllKinds) + 1; len(keys) != want {
		t.Errorf("found %d keys, want %d: %q", len(keys), want, keys)
	}
	for _, key := range keys {
		ttl, err := c.PTTL(ctx, key).Result()
		must(err)
		name := strings.TrimPrefix(key, prefix)
		isDurable := false
		for _, d := range durable {
			isDurable = isDurable || strings.HasPrefix(name, d)
		}
		if isDurable != (ttl == -1) {
			t.Errorf("key %s: PTTL %v, durable %v", name, ttl, isDurable)
		}
	}
}

// TestGrantIndexesTrimmed: the id of a grant Redis has dropped is taken
// out of the member's and the app's index when they are read, so the
// indexes do not keep dangling ids.
func TestGrantIndexesTrimmed(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c)
	now := time.Now().UTC()
	for _, id := range []string{"g1", "g2"} {
		g := apps.Grant{ID: id, Member: "alice", ClientID: "app1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Del(ctx, prefix+"grant:g1").Err(); err != nil { // as Redis does at the deadline
		t.Fatal(err)
	}
	list, err := s.ListGrants(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].ID != "g2" {
		t.Fatalf("ListGrants = %+v, %v; want g2 alone", list, err)
	}
	if _, err := s.AppUsage(ctx, "app1", now); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"grants:alice", "appgrants:app1"} {
		ids, err := c.ZRange(ctx, prefix+key, 0, -1).Result()
		if err != nil || len(ids) != 1 || ids[0] != "g2" {
			t.Errorf("%s = %q, %v; want [g2]", key, ids, err)
		}
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	testClient(t) // skips without Redis
	s, c, err := redis.Open(ctx, testURL(), 2*time.Second)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	_, _, err = redis.Open(ctx, "redis://:Sup3rSecretPw@127.0.0.1:1/0", time.Second)
	if err == nil || strings.Contains(err.Error(), "Sup3rSecretPw") {
		t.Fatalf("Open on a closed port: %v", err)
	}
}

func BenchmarkGetToken(b *testing.B) {
	ctx := context.Background()
	s, _ := newStore(b, testClient(b))
	rec := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true,
		ExpiresAt: time.Now().Add(time.Hour), Request: make([]byte, 512)}
	if err := s.CreateToken(ctx, oauth.KindAccess, "sig1", rec); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.GetToken(ctx, oauth.KindAccess, "sig1"); err != nil {
			b.Fatal(err)
		}
	}
}

// sameSlotHook fails the test if a script or MGET touches keys with
// different Cluster hash tags: what would be a CROSSSLOT error on Redis
// Cluster, caught on a single node.
type sameSlotHook struct{ t *testing.T }

func (h sameSlotHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h sameSlotHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.check(cmd.Args())
		return next(ctx, cmd)
	}
}

func (h sameSlotHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, cmd := range cmds {
			h.check(cmd.Args())
		}
		return next(ctx, cmds)
	}
}

func (h sameSlotHook) check(args []any) {
	var keys []any
	switch strings.ToLower(fmt.Sprint(args[0])) {
	case "eval", "evalsha":
		var n int
		fmt.Sscan(fmt.Sprint(args[2]), &n)
		keys = args[3 : 3+n]
	case "mget", "del":
		keys = args[1:]
	}
	for _, k := range keys {
		if tag(fmt.Sprint(k)) != tag(fmt.Sprint(keys[0])) || tag(fmt.Sprint(k)) == "" && len(keys) > 1 {
			h.t.Errorf("%v touches keys in different Cluster slots: %v", args[0], keys)
			return
		}
	}
}

// tag is a key's Cluster hash tag, or "" if it has none.
func tag(key string) string {
	open := strings.Index(key, "{")
	if open < 0 {
		return ""
	}
	end := strings.Index(key[open+1:], "}")
	if end <= 0 {
		return ""
	}
	return key[open+1 : open+1+end]
}

// TestEventsTrimmedByTime: each append drops the stream entries older than
// the retention by Redis's own clock, however few there are, and keeps
// every younger one, however many.
func TestEventsTrimmedByTime(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c, redis.WithAuditRetention(time.Hour))
	stream := prefix + "events"
	for _, age := range []time.Duration{time.Hour + time.Minute, time.Hour - time.Minute} {
		id := fmt.Sprintf("%d-0", time.Now().Add(-age).UnixMilli())
		if err := c.XAdd(ctx, &goredis.XAddArgs{Stream: stream, ID: id, Values: []any{"e", `{}`}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendEvent(ctx, apps.Event{Time: time.Now(), Action: "token"}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.XLen(ctx, stream).Result(); err != nil || n != 2 {
		t.Fatalf("stream holds %d entries (%v), want 2: the one past the retention dropped, the younger and the new kept", n, err)
	}
}

// TestMarker: the marker is written once, and its loss is reported as
// ErrDataLost.
func TestMarker(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c)
	if err := s.CheckData(ctx); !errors.Is(err, redis.ErrDataLost) {
		t.Fatalf("CheckData before any marker: %v, want ErrDataLost", err)
	}
	for i, want := range []bool{true, false} {
		created, err := s.EnsureMarker(ctx)
		if err != nil || created != want {
			t.Fatalf("EnsureMarker #%d: created=%v %v, want %v", i+1, created, err, want)
		}
	}
	if err := s.CheckData(ctx); err != nil {
		t.Fatalf("CheckData with the marker: %v", err)
	}
	if ttl, _ := c.PTTL(ctx, prefix+"marker").Result(); ttl != -1 {
		t.Fatalf("marker PTTL %v, want no expiry", ttl)
	}
	c.Del(ctx, prefix+"marker")
	if err := s.CheckData(ctx); !errors.Is(err, redis.ErrDataLost) {
		t.Fatalf("CheckData after the marker was lost: %v, want ErrDataLost", err)
	}
}

// TestOldAttestationMigrates: an app stored before the attestation had
// questions ("attestation":"attested") reads as yes to every question, and
// the next write stores the new form.
func TestOldAttestationMigrates(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c)
	old := `{"client_id":"old1","name":"Old App","redirect_uris":["https://old.example/cb"],"public":true,"scopes":["openid"],` +
		`"attestation":"attested","status":"approved","created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z"}`
	if err := c.Set(ctx, prefix+"{apps}:app:old1", old, 0).Err(); err != nil {
		t.Fatal(err)
	}
	a, err := s.GetApp(ctx, "old1")
	if err != nil || a.Attestation.Status() != apps.AttestationAttested || a.Attestation.Answer(apps.QuestionEndAccess) != "yes" || a.Status != apps.StatusApproved {
		t.Fatalf("old app read as %+v (%v)", a, err)
	}
	if _, err := s.UpdateApp(ctx, "old1", func(a apps.App) (apps.App, error) { return a, nil }); err != nil {
		t.Fatal(err)
	}
	raw, _ := c.Get(ctx, prefix+"{apps}:app:old1").Result()
	if !strings.Contains(raw, `"attestation":{"answers":{`) {
		t.Fatalf("rewritten app keeps the old form: %s", raw)
	}
}

// TestJSONRecordStillReads: a record stored before records had their
// binary form (its "rec" a JSON TokenRecord, as an older gateway wrote
// it) still reads, is still checked, and is still used up once: it keeps
// working until it expires.
func TestJSONRecordStillReads(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c)
	exp := time.Now().Add(time.Hour).UTC()
	old := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: exp,
		AccessSignature: "at1", Request: []byte(`{"id":"req1"}`)}
	data, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	deadline := exp.Add(oauth.InactiveTail)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.HSet(ctx, prefix+"{req:req1}:tok:refresh:rt1", "rec", data, "active", "1").Err())
	must(c.PExpireAt(ctx, prefix+"{req:req1}:tok:refresh:rt1", deadline).Err())
	must(c.SAdd(ctx, prefix+"{req:req1}:toks", "refresh:rt1").Err())
	must(c.PExpireAt(ctx, prefix+"{req:req1}:toks", deadline).Err())
	must(c.Set(ctx, prefix+"tok:refresh:rt1", "req1", 0).Err())
	must(c.PExpireAt(ctx, prefix+"tok:refresh:rt1", deadline).Err())

	got, err := s.GetToken(ctx, oauth.KindRefresh, "rt1")
	if err != nil || !reflect.DeepEqual(got, old) {
		t.Fatalf("GetToken of a JSON record = %+v, %v; want %+v", got, err, old)
	}
	next := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: exp, Request: []byte{2, 0}}
	was, err := s.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt1"},
		Issue: []oauth.IssuedToken{{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt2"}, Record: next}}})
	if err != nil || !reflect.DeepEqual(was, old) {
		t.Fatalf("UseToken of a JSON record = %+v, %v", was, err)
	}
	inactive := old
	inactive.Active = false
	if got, err := s.GetToken(ctx, oauth.KindRefresh, "rt1"); err != nil || !reflect.DeepEqual(got, inactive) {
		t.Fatalf("the used JSON record = %+v, %v; want it inactive", got, err)
	}
	if got, err := s.GetToken(ctx, oauth.KindRefresh, "rt2"); err != nil || !reflect.DeepEqual(got, next) {
		t.Fatalf("the record issued in the binary form = %+v, %v; want %+v", got, err, next)
	}
	// The index, a set as older gateways wrote it, is now a hash with the
	// same members and an expiry.
	if typ, _ := c.Type(ctx, prefix+"{req:req1}:toks").Result(); typ != "hash" {
		t.Errorf("the index after a use is a %s, want a hash", typ)
	}
	if ms, err := c.HKeys(ctx, prefix+"{req:req1}:toks").Result(); err != nil || len(ms) != 2 {
		t.Errorf("the index's members after a use: %q, %v; want the two refresh tokens", ms, err)
	}
	if ttl, _ := c.PTTL(ctx, prefix+"{req:req1}:toks").Result(); ttl <= 0 {
		t.Errorf("the index after a use: PTTL %v, want an expiry", ttl)
	}
	// A request whose index is still a set is revoked whole.
	must(c.HSet(ctx, prefix+"{req:req2}:tok:access:at9", "rec", data, "active", "1").Err())
	must(c.SAdd(ctx, prefix+"{req:req2}:toks", "access:at9").Err())
	must(c.Set(ctx, prefix+"tok:access:at9", "req2", time.Hour).Err())
	must(c.PExpire(ctx, prefix+"{req:req2}:toks", time.Hour).Err())
	must(c.PExpire(ctx, prefix+"{req:req2}:tok:access:at9", time.Hour).Err())
	must(s.RevokeRequest(ctx, "req2"))
	if _, err := s.GetToken(ctx, oauth.KindAccess, "at9"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("a record of a set-indexed request after revoking it: %v, want not found", err)
	}
}

// TestTombstonesAreSmall: a used code keeps its header only (no request,
// no claims) in its request's used hash, and the pointers of the records its use dropped (its PKCE
// and OpenID sessions) go with them rather than lingering for a day.
func TestTombstonesAreSmall(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c)
	rec := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: time.Now().Add(time.Minute),
		Request: make([]byte, 1000), Claims: []byte("claims")}
	for _, kind := range []oauth.TokenKind{oauth.KindCode, oauth.KindPKCE, oauth.KindOIDC} {
		if err := s.CreateToken(ctx, kind, "c1", rec); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindCode, Signature: "c1"},
		Drop: []oauth.TokenRef{{Kind: oauth.KindPKCE, Signature: "c1"}, {Kind: oauth.KindOIDC, Signature: "c1"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"tok:pkce:c1", "tok:oidc:c1"} {
		if n, err := c.Exists(ctx, prefix+key).Result(); err != nil || n != 0 {
			t.Errorf("pointer %s of a dropped record: exists %d, %v; want gone", key, n, err)
		}
	}
	// The tombstone is a field of the request's used hash: an 8-byte
	// deadline and the record's header, no request, no claims.
	used := prefix + "{req:req1}:used"
	fields, err := c.HGetAll(ctx, used).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 1 || len(fields["code:c1"]) == 0 || len(fields["code:c1"]) > 48 {
		t.Fatalf("the used hash holds %q; want the used code's tombstone alone, at most 48 bytes", fields)
	}
	if n, err := c.Exists(ctx, prefix+"{req:req1}:toks").Result(); err != nil || n != 0 {
		t.Errorf("the request's hash after its code, PKCE and OpenID records went: exists %d, %v; want gone", n, err)
	}
	// Small enough for Redis's compact encoding, and expiring.
	if enc, err := c.ObjectEncoding(ctx, used).Result(); err != nil || enc != "listpack" && enc != "ziplist" {
		t.Errorf("the used hash is encoded as %q (%v), want listpack", enc, err)
	}
	if ttl, err := c.PTTL(ctx, used).Result(); err != nil || ttl <= 0 || ttl > time.Minute+oauth.InactiveTail {
		t.Errorf("the used hash's PTTL %v %v, want it to expire with the code", ttl, err)
	}
	got, err := s.GetToken(ctx, oauth.KindCode, "c1")
	want := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", ExpiresAt: rec.ExpiresAt.UTC()}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("the used code reads as %+v, %v; want %+v", got, err, want)
	}
}

// TestJSONGrantStillReads: a grant stored as JSON (by an older gateway)
// still reads, lists and revokes; the revocation writes it in the binary
// form, which reads back the same.
func TestJSONGrantStillReads(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c)
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := apps.Grant{ID: "g1", Member: "alice", Patient: "alice-1001", ClientID: "app1",
		Scopes: []string{"launch/patient", "patient/Coverage.rs", "patient/Unknown.read"}, Sensitive: true,
		ExpiresAt: now.AddDate(0, 13, 0), CreatedAt: now}
	data, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, prefix+"grant:g1", data, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ZAdd(ctx, prefix+"grants:alice", goredis.Z{Score: 1, Member: "g1"}).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetGrant(ctx, "g1"); err != nil || !reflect.DeepEqual(got, g) {
		t.Fatalf("GetGrant of a JSON grant = %+v, %v; want %+v", got, err, g)
	}
	if list, err := s.ListGrants(ctx, "alice"); err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], g) {
		t.Fatalf("ListGrants with a JSON grant = %+v, %v", list, err)
	}
	if err := s.RevokeGrant(ctx, "g1", now); err != nil {
		t.Fatal(err)
	}
	raw, err := c.Get(ctx, prefix+"grant:g1").Bytes()
	if err != nil || raw[0] == '{' || len(raw)*2 > len(data) {
		t.Fatalf("the revoked grant is stored as %d bytes starting %q (%v); want the binary form, under half its JSON's %d", len(raw), raw[:1], err, len(data))
	}
	g.RevokedAt = &now
	if got, err := s.GetGrant(ctx, "g1"); err != nil || !reflect.DeepEqual(got, g) {
		t.Fatalf("GetGrant of the revoked grant = %+v, %v; want %+v", got, err, g)
	}
}

// TestGrantStoredWithoutID: a grant's stored form leaves out its id,
// which its key holds, and reads back with it; a grant stored with its
// id (by the previous gateway) still reads.
func TestGrantStoredWithoutID(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	s, prefix := newStore(t, c)
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := apps.Grant{ID: "0b7c2f8e-5d1a-4c3b-9e6f-2a8d4c1b7e90", Member: "alice", Patient: "alice-1001", ClientID: "app1",
		Scopes: []string{"launch/patient", "patient/Coverage.rs"}, ExpiresAt: now.AddDate(0, 13, 0), CreatedAt: now}
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	raw, err := c.Get(ctx, prefix+"grant:"+g.ID).Bytes()
	if err != nil || bytes.Contains(raw, []byte(g.ID)) {
		t.Fatalf("the stored grant %q (%v) holds its id", raw, err)
	}
	if got, err := s.GetGrant(ctx, g.ID); err != nil || !reflect.DeepEqual(got, g) {
		t.Fatalf("GetGrant = %+v, %v; want %+v", got, err, g)
	}
	// As the previous gateway wrote it: the id where it is now empty
	// (a zero length just before the member's).
	old := g
	old.ID = "g2"
	withID := bytes.Replace(raw, []byte("\x00\x05alice"), []byte("\x02g2\x05alice"), 1)
	if err := c.Set(ctx, prefix+"grant:g2", withID, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetGrant(ctx, "g2"); err != nil || !reflect.DeepEqual(got, old) {
		t.Fatalf("GetGrant of a grant stored with its id = %+v, %v; want %+v", got, err, old)
	}
}
