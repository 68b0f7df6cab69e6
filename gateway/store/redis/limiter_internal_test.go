package redis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/gateway/store/storetest"
	"github.com/patientaccess/gateway/oauth"
)

// hashTag is the part of key Redis Cluster hashes: what is between its
// first '{' and the first '}' after it, when that is not empty; else the
// whole key.
func hashTag(key string) string {
	_, rest, ok := strings.Cut(key, "{")
	if tag, _, closed := strings.Cut(rest, "}"); ok && closed && tag != "" {
		return tag
	}
	return key
}

// TestRateKeysShareSlotBySubject: the limiter keys of one subject share
// their Cluster hash tag whatever their kind, so that one script may judge
// a gate's two keys on a Cluster; other subjects' keys do not.
func TestRateKeysShareSlotBySubject(t *testing.T) {
	s := &Store{prefix: DefaultPrefix}
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"client-auth:5f1e", "introspect:5f1e", true},
		{"client-auth:5f1e", "client-auth:5f1f", false},
		{"login:5f1e", "login:5f1e", true},
		{"policywatch:round", "policywatch:other", false},
		{"nokind", "nokind", true},
	} {
		ka, kb := "rate:"+s.rateKey(c.a), "rate:"+s.rateKey(c.b)
		if same := hashTag(ka) == hashTag(kb) && hashTag(ka) != ka; same != c.same {
			t.Errorf("%s and %s: same hash tag %v (%q, %q), want %v", ka, kb, same, hashTag(ka), hashTag(kb), c.same)
		}
	}
}

// TestGateLoadsItsScript: a gate is judged on a Redis that does not know
// its script (a new server, or one whose scripts were flushed, as after a
// restart or a failover), which then learns it: the pipelined EVALSHA's
// NOSCRIPT is answered by running the script on its own, and the event is
// taken once.
func TestGateLoadsItsScript(t *testing.T) {
	srv := storetest.StartRedis(t)
	ctx := context.Background()
	opts, err := goredis.ParseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	s := New(c)
	g := oauth.Gate{Hold: "client-auth:k", HoldLimit: oauth.Limit{Burst: 1, Every: time.Hour},
		Take: "introspect:k", TakeLimit: oauth.Limit{Burst: 2, Every: time.Hour}}
	for i, flush := range []bool{false, true, false} {
		if flush {
			if err := c.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		_, gated, err := s.CheckAccessGated(ctx, oauth.AccessQuery{Signature: "nosuch"}, g)
		if !errors.Is(err, oauth.ErrNotFound) || !gated.Judged || gated.Hold != 0 || (gated.Take > 0) != (i == 2) {
			t.Fatalf("gated check %d (scripts flushed before: %v): %+v, %v; want judged, taken for the first two", i+1, flush, gated, err)
		}
	}
	if known, err := gateScript.Exists(ctx, c).Result(); err != nil || !known[0] {
		t.Fatalf("gate script known to Redis: %v, %v", known, err)
	}
}
