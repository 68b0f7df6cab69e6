package redis_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/store/redis"
	"github.com/patientaccess/gateway/gateway/store/storetest"
	"github.com/patientaccess/gateway/oauth"
)

// everyMethod calls each method of the store once, all at once, and
// returns their errors.
func everyMethod(s *redis.Store) map[string]error {
	ctx := context.Background()
	now := time.Now()
	rec := oauth.TokenRecord{RequestID: "r1", Active: true, ExpiresAt: now.Add(time.Hour)}
	calls := map[string]func() error{
		"Ping":          func() error { return s.Ping(ctx) },
		"CreateApp":     func() error { return s.CreateApp(ctx, apps.App{ClientID: "a1", CreatedAt: now}) },
		"CreateGrant":   func() error { return s.CreateGrant(ctx, apps.Grant{ID: "g1", Member: "alice", CreatedAt: now}) },
		"RevokeGrant":   func() error { return s.RevokeGrant(ctx, "g1", now) },
		"AppendEvent":   func() error { return s.AppendEvent(ctx, apps.Event{Time: now, Action: "token"}) },
		"PutMember":     func() error { return s.PutMember(ctx, oauth.Member{Username: "alice"}) },
		"PutSession":    func() error { return s.PutSession(ctx, oauth.LoginSession{ID: "s1", ExpiresAt: now.Add(time.Hour)}) },
		"DeleteSession": func() error { return s.DeleteSession(ctx, "s1") },
		"CreateToken":   func() error { return s.CreateToken(ctx, oauth.KindAccess, "sig1", rec) },
		"DeleteToken":   func() error { return s.DeleteToken(ctx, oauth.KindAccess, "sig1") },
		"RevokeRequest": func() error { return s.RevokeRequest(ctx, "r1") },
		"UpdateApp": func() error {
			return second(s.UpdateApp(ctx, "a1", func(a apps.App) (apps.App, error) { return a, nil }))
		},
		"DeactivateToken": func() error { return second(s.DeactivateToken(ctx, oauth.KindRefresh, "sig1")) },
		"GetToken":        func() error { return second(s.GetToken(ctx, oauth.KindAccess, "sig1")) },
		"GetApp":          func() error { return second(s.GetApp(ctx, "a1")) },
		"ListApps":        func() error { return second(s.ListApps(ctx)) },
		"GetGrant":        func() error { return second(s.GetGrant(ctx, "g1")) },
		"ListGrants":      func() error { return second(s.ListGrants(ctx, "alice")) },
		"ListEvents":      func() error { return second(s.ListEvents(ctx, 10)) },
		"GetMember":       func() error { return second(s.GetMember(ctx, "alice")) },
		"GetSession":      func() error { return second(s.GetSession(ctx, "s1")) },
		"UseToken": func() error {
			return second(s.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "sig1"}}))
		},
		"CheckAccessAppend": func() error {
			_, _, err := s.CheckAccessAppend(ctx, oauth.AccessQuery{Signature: "sig1", RequestID: "r1", ClientID: "a1"},
				[]apps.Event{{Time: now, Action: "fhir.read", Member: "alice"}})
			return err
		},
		"CheckAccessGated": func() error {
			_, _, err := s.CheckAccessGated(ctx, oauth.AccessQuery{Signature: "sig1", RequestID: "r1", ClientID: "a1"},
				oauth.Gate{Hold: "client-auth:k", HoldLimit: oauth.Limit{Burst: 1, Every: time.Minute},
					Take: "introspect:k", TakeLimit: oauth.Limit{Burst: 1, Every: time.Minute}})
			return err
		},
		"WithdrawEvents":   func() error { return s.WithdrawEvents(ctx, oauth.EventRefs{{Log: "events", ID: "0-1"}}) },
		"UseAssertion":     func() error { return s.UseAssertion(ctx, "jti1", now.Add(time.Minute)) },
		"AssertionUsed":    func() error { return second(s.AssertionUsed(ctx, "jti1")) },
		"PutMemberLink":    func() error { return s.PutMemberLink(ctx, oauth.MemberLink{Member: "m1"}) },
		"GetMemberLink":    func() error { return second(s.GetMemberLink(ctx, "m1")) },
		"DeleteMemberLink": func() error { return s.DeleteMemberLink(ctx, "m1") },
		"EnsureMarker":     func() error { return second(s.EnsureMarker(ctx)) },
		"CheckData":        func() error { return s.CheckData(ctx) },
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := map[string]error{}
	for name, call := range calls {
		wg.Go(func() {
			err := call()
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return errs
}

func second[T any](_ T, err error) error { return err }

// TestEveryMethodReportsUnavailable: with its Redis down or stalled, every
// method of the store fails with apps.ErrUnavailable (and so with
// oauth.ErrUnavailable), never with a not-found or any other answer, and
// within a bound.
func TestEveryMethodReportsUnavailable(t *testing.T) {
	srv := storetest.StartRedis(t)
	s, c, err := redis.Open(context.Background(), srv.URL, time.Second)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name         string
		fail, repair func()
	}{
		{"stalled", srv.Stall, srv.Resume},
		{"down", srv.Stop, srv.Start},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fail()
			start := time.Now()
			errs := everyMethod(s)
			took := time.Since(start)
			tc.repair()
			for name, err := range errs {
				if !errors.Is(err, apps.ErrUnavailable) || !errors.Is(err, oauth.ErrUnavailable) {
					t.Errorf("%s: error %v, want apps.ErrUnavailable", name, err)
				}
			}
			// A call makes at most MaxRetries+1 attempts, each bounded by
			// DialTimeout or IOTimeout.
			if bound := (redis.MaxRetries + 1) * (redis.IOTimeout + redis.DialTimeout); took > bound {
				t.Errorf("%d calls at once took %v, want at most %v", len(errs), took, bound)
			}
		})
	}
	// After a refused dial go-redis probes once a second before it dials
	// for callers again: recovery takes up to about a second.
	deadline := time.Now().Add(2 * time.Second)
	for s.Ping(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Ping 2s after Redis is back: %v", s.Ping(context.Background()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
