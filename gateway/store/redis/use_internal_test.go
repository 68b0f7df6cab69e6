package redis

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/store/storetest"
	"github.com/patientaccess/gateway/oauth"
)

// failScriptOnce fails the first run of one script as a dropped
// connection would, after every command before it went through.
type failScriptOnce struct {
	sha  string
	done atomic.Bool
}

func (h *failScriptOnce) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *failScriptOnce) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		args := cmd.Args()
		name := strings.ToLower(fmt.Sprint(args[0]))
		script := name == "evalsha" && args[1] == h.sha ||
			name == "eval" && fmt.Sprintf("%x", sha1.Sum([]byte(fmt.Sprint(args[1])))) == h.sha
		if script && h.done.CompareAndSwap(false, true) {
			return errors.New("injected: connection reset by peer")
		}
		return next(ctx, cmd)
	}
}

func (h *failScriptOnce) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// TestUseTokenFailsWhole: when UseToken's script does not run (the
// connection drops after the new pointers were written), nothing visible
// has changed: the refresh token is still active, its access token still
// there, the new tokens not found, and the retry succeeds.
func TestUseTokenFailsWhole(t *testing.T) {
	srv := storetest.StartRedis(t)
	ctx := context.Background()
	s, c, err := Open(ctx, srv.URL, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.AddHook(&failScriptOnce{sha: useScript.Hash()})
	exp := time.Now().Add(time.Hour)
	old := oauth.TokenRecord{RequestID: "req1", Active: true, ExpiresAt: exp, AccessSignature: "at1"}
	for kind, sig := range map[oauth.TokenKind]string{oauth.KindRefresh: "rt1", oauth.KindAccess: "at1"} {
		rec := old
		if kind == oauth.KindAccess {
			rec.AccessSignature = ""
		}
		if err := s.CreateToken(ctx, kind, sig, rec); err != nil {
			t.Fatal(err)
		}
	}
	next := oauth.TokenRecord{RequestID: "req1", Active: true, ExpiresAt: exp}
	u := oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt1"}, DropAccess: true,
		Issue: []oauth.IssuedToken{{TokenRef: oauth.TokenRef{Kind: oauth.KindAccess, Signature: "at2"}, Record: next}}}
	if _, err := s.UseToken(ctx, u); !errors.Is(err, apps.ErrUnavailable) {
		t.Fatalf("UseToken with its script failing: %v, want ErrUnavailable", err)
	}
	if rec, err := s.GetToken(ctx, oauth.KindRefresh, "rt1"); err != nil || !rec.Active {
		t.Fatalf("refresh token after the failed use: %+v %v, want active", rec, err)
	}
	if _, err := s.GetToken(ctx, oauth.KindAccess, "at1"); err != nil {
		t.Fatalf("old access token after the failed use: %v", err)
	}
	if _, err := s.GetToken(ctx, oauth.KindAccess, "at2"); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("new access token after the failed use: %v, want not found", err)
	}
	if _, err := s.UseToken(ctx, u); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if _, err := s.GetToken(ctx, oauth.KindAccess, "at2"); err != nil {
		t.Fatalf("new access token after the retry: %v", err)
	}
}

// TestRecordKeyIn: the token check's one-allocation record key is the key
// every other method uses.
func TestRecordKeyIn(t *testing.T) {
	s := &Store{prefix: "p:"}
	if got, want := s.recordKeyIn("req1", oauth.KindAccess, "sig"), s.recordPrefix("req1")+member(oauth.KindAccess, "sig"); got != want {
		t.Fatalf("recordKeyIn = %q, want %q", got, want)
	}
}
