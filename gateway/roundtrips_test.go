package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway"
	redisstore "github.com/patientaccess/gateway/gateway/store/redis"
	"github.com/patientaccess/gateway/oauth"
)

// roundTrips is a go-redis hook that counts what the client sends: each
// command and each pipeline is one round trip to Redis. It also keeps
// what each round trip sent, as its commands' names.
type roundTrips struct {
	n    atomic.Int64
	mu   sync.Mutex
	sent []string // "hmget get xadd" per round trip
}

func (*roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (r *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		r.n.Add(1)
		r.record([]goredis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		r.n.Add(1)
		r.record(cmds)
		return next(ctx, cmds)
	}
}

func (r *roundTrips) record(cmds []goredis.Cmder) {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name()
	}
	r.mu.Lock()
	r.sent = append(r.sent, strings.Join(names, " "))
	r.mu.Unlock()
}

// reset forgets what was counted and sent.
func (r *roundTrips) reset() {
	r.n.Store(0)
	r.mu.Lock()
	r.sent = nil
	r.mu.Unlock()
}

// sentSince returns what each round trip sent since the last reset.
func (r *roundTrips) sentSince() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

// measuredRedis is a Redis store opened for measuring: its round trips
// are counted and its client and key prefix are kept.
type measuredRedis struct {
	rt     roundTrips
	client *goredis.Client
	prefix string
	// short gives the keys a prefix as long as the default "pag:", so
	// that what is measured is what a deployment's keys take, not the
	// test's long prefix.
	short bool
}

func (m *measuredRedis) open(t testing.TB) gateway.Store {
	t.Helper()
	_, m.client = testRedis(t)
	m.client.AddHook(&m.rt)
	m.prefix = fmt.Sprintf("pagtest:%s:%d:", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	if m.short {
		m.prefix = fmt.Sprintf("m%02x:", time.Now().UnixNano()%256)
	}
	deleteKeys(t, m.client, m.prefix)
	deleteKeys(t, m.client, "rate:"+m.prefix)
	return redisstore.New(m.client, redisstore.WithPrefix(m.prefix))
}

// TestFHIRReadRedisRoundTrips counts the Redis round trips of
// token-bearing FHIR calls once the token has been seen: one each, the
// check that the token is still live (record, grant and app) and the
// audit event in one pipeline, for a read, an EOB search and a refusal
// decided from the token's claims (a resource not in the member's data).
func TestFHIRReadRedisRoundTrips(t *testing.T) {
	m := &measuredRedis{}
	rt := &m.rt
	h := newHarness(t, m.open)
	tok := h.launchAs(h.registerApp(false, "approved"), "alice")
	alice := h.patient["alice"]
	if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+alice); code != 200 {
		t.Fatalf("first read: %d", code)
	}
	const calls, perCall = 20, 1
	for _, c := range []struct {
		path string
		code int
	}{
		{"/Patient/" + alice, 200},
		{"/ExplanationOfBenefit?patient=" + alice, 200},
		{"/Patient/" + h.patient["bob"], 404},
	} {
		rt.n.Store(0)
		for range calls {
			if code, _ := h.fhirGet(tok.AccessToken, c.path); code != c.code {
				t.Fatalf("GET %s: %d, want %d", c.path, code, c.code)
			}
		}
		if got := rt.n.Load(); got != calls*perCall {
			t.Errorf("%d calls of GET %s made %d Redis round trips, want %d each", calls, c.path, got, perCall)
		}
	}
}

// TestFHIRReadRedisCommands pins what a token-bearing FHIR call's one
// round trip asks of Redis once the token, its grant and its app have been
// seen: the record's active flag and expiry, the grant, the apps version
// (the app's JSON is read again only when it moved), and the two appends
// of the audit event, all plain commands. A Lua script costs Redis several
// times the command it wraps (EVAL of an XADD about 15 us against 4 us on
// the 2-core machine), and Redis shares the cores with the gateway.
func TestFHIRReadRedisCommands(t *testing.T) {
	m := &measuredRedis{}
	h := newHarness(t, m.open)
	tok := h.launchAs(h.registerApp(false, "approved"), "alice")
	alice := h.patient["alice"]
	if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+alice); code != 200 {
		t.Fatalf("first read: %d", code)
	}
	const want = "hmget get get xadd xadd"
	for _, c := range []struct {
		path string
		code int
	}{
		{"/Patient/" + alice, 200},
		{"/ExplanationOfBenefit?patient=" + alice, 200},
		{"/Patient/" + h.patient["bob"], 404},
	} {
		m.rt.reset()
		if code, _ := h.fhirGet(tok.AccessToken, c.path); code != c.code {
			t.Fatalf("GET %s: %d, want %d", c.path, code, c.code)
		}
		if got := m.rt.sentSince(); !slices.Equal(got, []string{want}) {
			t.Errorf("GET %s sent %q, want one round trip of %q", c.path, got, want)
		}
	}
}

// BenchmarkRedisMemoryPerGrant reports the Redis memory (MEMORY USAGE) a
// live grant takes with its tokens: the grant, its access and refresh
// token records, their pointers and the request's index, after one
// refresh (so a rotated refresh token and the used code, both kept a day
// as tombstones, are counted too). Keys have a prefix as long as the
// default one. The target is at most 2 KiB.
//
//	go test -run '^$' -bench BenchmarkRedisMemoryPerGrant -benchtime 20x ./gateway
func BenchmarkRedisMemoryPerGrant(b *testing.B) {
	m := &measuredRedis{short: true}
	h := newHarness(b, m.open)
	conf := h.registerApp(false, "approved")
	grants := 0
	br := h.browser() // signed in once: the login throttle is not what is measured
	for b.Loop() {
		l := h.newLaunch(conf)
		code := h.authorize(br, l, "alice")
		tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
		if err != nil {
			b.Fatal(err)
		}
		if r := h.refreshAs(conf, tok.RefreshToken, ""); r.status != 200 {
			b.Fatalf("refresh: %d", r.status)
		}
		grants++
	}
	ctx := context.Background()
	var total, rotated int64
	iter := m.client.Scan(ctx, 0, m.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := strings.TrimPrefix(iter.Val(), m.prefix)
		if !strings.HasPrefix(key, "grant:") && !strings.HasPrefix(key, "{req:") && !strings.HasPrefix(key, "tok:") {
			continue // the app, the member, the audit trail: not per grant
		}
		n, err := m.client.MemoryUsage(ctx, iter.Val()).Result()
		if err != nil {
			b.Fatal(err)
		}
		total += n
		if os.Getenv("GATEWAY_BENCH_KEYS") != "" {
			b.Logf("%6d %s", n, key)
		}
		if strings.Contains(key, ":tok:refresh:") && !strings.HasPrefix(key, "tok:") {
			if active, _ := m.client.HGet(ctx, iter.Val(), "active").Result(); active == "0" {
				rotated += n
			}
		}
	}
	b.ReportMetric(float64(total)/float64(grants), "bytes/grant")
	b.ReportMetric(float64(rotated)/float64(grants), "rotated-refresh-bytes/grant")
}

// TestRedisMemoryManyGrants reports, for GATEWAY_MEMORY_GRANTS grants
// (say 100000), the Redis memory a grant takes with its tokens, summed
// with MEMORY USAGE over every key and by kind of key, and the growth of
// Redis's used_memory. It is opt-in: it takes a while. One grant is made
// through the real flow (consent, code exchange, one refresh) and its
// records are the templates; each of the others is written through the
// store API as the token endpoint writes it: the grant, its first access
// and refresh tokens, then one refresh (UseToken), which leaves a live
// access and refresh token and a rotated refresh token's tombstone. Each
// grant has a member of its own. Keys have a prefix as long as the
// default one.
//
//	GATEWAY_MEMORY_GRANTS=100000 go test -run TestRedisMemoryManyGrants -v ./gateway
func TestRedisMemoryManyGrants(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GATEWAY_MEMORY_GRANTS"))
	if n <= 0 {
		t.Skip("set GATEWAY_MEMORY_GRANTS to the number of grants to measure")
	}
	m := &measuredRedis{short: true}
	h := newHarness(t, m.open)
	conf := h.registerApp(false, "approved")
	first := h.launchAs(conf, "alice")
	next := h.refreshAs(conf, first.RefreshToken, "")
	if next.status != 200 {
		t.Fatalf("refresh: %d", next.status)
	}
	ctx := context.Background()
	store := h.gw.Store
	access, err := store.GetToken(ctx, oauth.KindAccess, accessSignature(next.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	refresh, err := store.GetToken(ctx, oauth.KindRefresh, accessSignature(next.RefreshToken))
	if err != nil {
		t.Fatal(err)
	}
	grant, err := store.GetGrant(ctx, access.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	used := func() int64 {
		info, err := m.client.Info(ctx, "memory").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		t.Fatal("no used_memory in INFO memory")
		return 0
	}
	before := used()
	sig := func(i, k int) string { return fmt.Sprintf("%041d%02d", i, k) } // as long as an HMAC signature
	start := time.Now()
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) // as long as a request id
		g := grant
		g.ID, g.Member = id, fmt.Sprintf("member-%d", i)
		if err := store.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
		at, rt := access, refresh
		at.RequestID, rt.RequestID, rt.AccessSignature = id, id, sig(i, 0)
		if err := store.CreateToken(ctx, oauth.KindAccess, sig(i, 0), at); err != nil {
			t.Fatal(err)
		}
		if err := store.CreateToken(ctx, oauth.KindRefresh, sig(i, 1), rt); err != nil {
			t.Fatal(err)
		}
		rt2 := rt
		rt2.AccessSignature = sig(i, 2)
		_, err := store.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: sig(i, 1)}, DropAccess: true,
			Issue: []oauth.IssuedToken{
				{TokenRef: oauth.TokenRef{Kind: oauth.KindAccess, Signature: sig(i, 2)}, Record: at},
				{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: sig(i, 3)}, Record: rt2},
			}})
		if err != nil {
			t.Fatal(err)
		}
	}
	grew := used() - before
	t.Logf("%d grants written in %v", n, time.Since(start).Round(time.Millisecond))
	classes := []struct {
		name string
		re   *regexp.Regexp
	}{
		{"grant", regexp.MustCompile(`^grant:`)},
		{"member's grant index", regexp.MustCompile(`^grants:`)},
		{"app's grant index", regexp.MustCompile(`^appgrants:`)},
		{"token pointers", regexp.MustCompile(`^tok:`)},
		{"live token records", regexp.MustCompile(`^\{req:.*\}:tok:`)},
		{"request indexes", regexp.MustCompile(`^\{req:.*\}:toks$`)},
	}
	sums := make([]int64, len(classes)+1)
	var total int64
	var keys []string
	flush := func() {
		cmds := make([]*goredis.IntCmd, len(keys))
		actives := make([]*goredis.StringCmd, len(keys))
		_, err := m.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.MemoryUsage(ctx, k)
				if strings.Contains(k, "}:tok:refresh:") {
					actives[i] = p.HGet(ctx, k, "active")
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, goredis.Nil) {
			t.Fatal(err)
		}
		for i, k := range keys {
			name := strings.TrimPrefix(k, m.prefix)
			if strings.HasPrefix(name, "grants:alice") || strings.HasPrefix(name, "{apps}") || !strings.Contains(name, ":") {
				continue // the template's member, the app: not per grant
			}
			c := len(classes)
			for j, cl := range classes {
				if cl.re.MatchString(name) {
					c = j
					break
				}
			}
			if c == 4 && actives[i] != nil && actives[i].Val() == "0" {
				c = len(classes) // a tombstone
			}
			sums[c] += cmds[i].Val()
			total += cmds[i].Val()
		}
		keys = keys[:0]
	}
	iter := m.client.Scan(ctx, 0, m.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			flush()
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	per := func(v int64) float64 { return float64(v) / float64(n+1) }
	for j, cl := range classes {
		t.Logf("%-24s %7.0f bytes/grant", cl.name, per(sums[j]))
	}
	t.Logf("%-24s %7.0f bytes/grant", "rotated refresh tombstone", per(sums[len(classes)]))
	t.Logf("MEMORY USAGE, all keys: %.0f bytes/grant; without the tombstone: %.0f; used_memory grew %.0f bytes/grant",
		per(total), per(total-sums[len(classes)]), float64(grew)/float64(n))
}
