package redis

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/store/storetest"
	"github.com/patientaccess/gateway/oauth"
)

// slowRoundTrips counts every round trip the client makes, a single
// command or a pipeline, and holds each until release is closed, as a
// slow Redis would.
type slowRoundTrips struct {
	sent    atomic.Int64
	release chan struct{}
}

func (h *slowRoundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *slowRoundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.hold([]goredis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (h *slowRoundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.hold(cmds)
		return next(ctx, cmds)
	}
}

// hold counts and holds a round trip, unless it is a new connection's
// set-up (HELLO, CLIENT SETINFO), which is no read of the store's.
func (h *slowRoundTrips) hold(cmds []goredis.Cmder) {
	if !slices.ContainsFunc(cmds, func(c goredis.Cmder) bool { return c.Name() != "hello" && c.Name() != "client" }) {
		return
	}
	h.sent.Add(1)
	<-h.release
}

// TestConcurrentReadsShareRoundTrips: the reads a refresh grant makes one
// by one (its refresh token's pointer and record, its app, its grant) go
// out together with other callers' when Redis is busy, as the token
// checks do, instead of one round trip each; each caller still gets its
// own answer.
func TestConcurrentReadsShareRoundTrips(t *testing.T) {
	ctx := context.Background()
	const calls = 16
	for _, tc := range []struct {
		name  string
		trips int // round trips one call makes in turn
		read  func(s *Store, i int) error
	}{
		{"refresh token", 2, func(s *Store, i int) error {
			rec, err := s.GetToken(ctx, oauth.KindRefresh, fmt.Sprint("rt", i))
			if err == nil && rec.RequestID != fmt.Sprint("req", i) {
				err = fmt.Errorf("read request %q", rec.RequestID)
			}
			return err
		}},
		{"app", 1, func(s *Store, i int) error {
			a, err := s.GetApp(ctx, "app1")
			if err == nil && a.Name != "App" {
				err = fmt.Errorf("read app %+v", a)
			}
			return err
		}},
		{"grant", 1, func(s *Store, i int) error {
			g, err := s.GetGrant(ctx, fmt.Sprint("req", i))
			if err == nil && g.ID != fmt.Sprint("req", i) {
				err = fmt.Errorf("read grant %q", g.ID)
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := storetest.StartRedis(t)
			s, c, err := Open(ctx, srv.URL, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			now := time.Now()
			if err := s.CreateApp(ctx, apps.App{ClientID: "app1", Name: "App", Status: apps.StatusApproved, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			for i := range calls {
				id := fmt.Sprint("req", i)
				grant := apps.Grant{ID: id, Member: "alice", Patient: "pat-alice", ClientID: "app1", Scopes: []string{"patient/*.rs"},
					ExpiresAt: now.Add(time.Hour), CreatedAt: now}
				if err := s.CreateGrant(ctx, grant); err != nil {
					t.Fatal(err)
				}
				rec := oauth.TokenRecord{RequestID: id, ClientID: "app1", Active: true, ExpiresAt: now.Add(time.Hour), Request: []byte("{}")}
				if err := s.CreateToken(ctx, oauth.KindRefresh, fmt.Sprint("rt", i), rec); err != nil {
					t.Fatal(err)
				}
			}
			if err := readTokenScript.Load(ctx, c).Err(); err != nil {
				t.Fatal(err)
			}
			slow := &slowRoundTrips{release: make(chan struct{})}
			c.AddHook(slow)
			errs := make([]error, calls)
			var wg sync.WaitGroup
			for i := range calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = tc.read(s, i)
				}()
			}
			time.Sleep(300 * time.Millisecond) // every call has reached Redis, or queued for it
			close(slow.release)
			wg.Wait()
			if n, most := slow.sent.Load(), int64(tc.trips*calls/4); n > most {
				t.Errorf("%d concurrent reads made %d round trips, want at most %d", calls, n, most)
			}
			for i, err := range errs {
				if err != nil {
					t.Errorf("read %d: %v", i, err)
				}
			}
		})
	}
}
