package redis

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"reflect"
	"slices"
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

// isScript reports whether cmd runs the script.
func (h *failScriptOnce) isScript(cmd goredis.Cmder) bool {
	args := cmd.Args()
	name := strings.ToLower(fmt.Sprint(args[0]))
	return name == "evalsha" && args[1] == h.sha ||
		name == "eval" && fmt.Sprintf("%x", sha1.Sum([]byte(fmt.Sprint(args[1])))) == h.sha
}

func (h *failScriptOnce) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if h.isScript(cmd) && h.done.CompareAndSwap(false, true) {
			return errors.New("injected: connection reset by peer")
		}
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook sends a pipeline's commands up to the script, and
// fails the script and what follows it.
func (h *failScriptOnce) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		i := slices.IndexFunc(cmds, h.isScript)
		if i < 0 || !h.done.CompareAndSwap(false, true) {
			return next(ctx, cmds)
		}
		if i > 0 {
			if err := next(ctx, cmds[:i]); err != nil {
				return err
			}
		}
		err := errors.New("injected: connection reset by peer")
		for _, c := range cmds[i:] {
			c.SetErr(err)
		}
		return err
	}
}

// TestUseTokenFailsWhole: when UseToken's script does not run (the
// connection drops after the new pointers were written), nothing visible
// has changed: the refresh token is still active, its access token still
// there, the new tokens not found, and the retry succeeds. Whether Redis
// holds the script already (it then goes in one pipeline with the
// pointers) or not (NOSCRIPT, and it is sent again).
func TestUseTokenFailsWhole(t *testing.T) {
	srv := storetest.StartRedis(t)
	ctx := context.Background()
	for _, loaded := range []bool{true, false} {
		t.Run(fmt.Sprintf("script loaded %t", loaded), func(t *testing.T) {
			s, c, err := Open(ctx, srv.URL, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if loaded {
				err = useScript.Load(ctx, c).Err()
			} else {
				err = c.ScriptFlush(ctx).Err()
			}
			if err != nil {
				t.Fatal(err)
			}
			c.AddHook(&failScriptOnce{sha: useScript.Hash()})
			exp := time.Now().Add(time.Hour)
			req, rt, at, at2 := "req-"+t.Name(), "rt-"+t.Name(), "at-"+t.Name(), "at2-"+t.Name()
			old := oauth.TokenRecord{RequestID: req, Active: true, ExpiresAt: exp, AccessSignature: at}
			for kind, sig := range map[oauth.TokenKind]string{oauth.KindRefresh: rt, oauth.KindAccess: at} {
				rec := old
				if kind == oauth.KindAccess {
					rec.AccessSignature = ""
				}
				if err := s.CreateToken(ctx, kind, sig, rec); err != nil {
					t.Fatal(err)
				}
			}
			next := oauth.TokenRecord{RequestID: req, Active: true, ExpiresAt: exp}
			u := oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: rt}, DropAccess: true,
				Issue: []oauth.IssuedToken{{TokenRef: oauth.TokenRef{Kind: oauth.KindAccess, Signature: at2}, Record: next}}}
			if _, err := s.UseToken(ctx, u); !errors.Is(err, apps.ErrUnavailable) {
				t.Fatalf("UseToken with its script failing: %v, want ErrUnavailable", err)
			}
			if rec, err := s.GetToken(ctx, oauth.KindRefresh, rt); err != nil || !rec.Active {
				t.Fatalf("refresh token after the failed use: %+v %v, want active", rec, err)
			}
			if _, err := s.GetToken(ctx, oauth.KindAccess, at); err != nil {
				t.Fatalf("old access token after the failed use: %v", err)
			}
			if _, err := s.GetToken(ctx, oauth.KindAccess, at2); !errors.Is(err, oauth.ErrNotFound) {
				t.Fatalf("new access token after the failed use: %v, want not found", err)
			}
			if _, err := s.UseToken(ctx, u); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if _, err := s.GetToken(ctx, oauth.KindAccess, at2); err != nil {
				t.Fatalf("new access token after the retry: %v", err)
			}
			if _, err := s.GetToken(ctx, oauth.KindAccess, at); !errors.Is(err, oauth.ErrNotFound) {
				t.Fatalf("old access token after the retry: %v, want not found", err)
			}
		})
	}
}

// TestUseTokenFindsUsedRecordInItsRequestOnly: a refresh whose issued
// records name another request than the used token's (UseToken then reads
// no pointer) fails and changes nothing.
func TestUseTokenFindsUsedRecordInItsRequestOnly(t *testing.T) {
	ctx := context.Background()
	s, _ := openInternal(t)
	exp := time.Now().Add(time.Hour)
	for _, req := range []string{"mine", "theirs"} {
		if err := s.CreateToken(ctx, oauth.KindRefresh, "rt-"+req, oauth.TokenRecord{RequestID: req, Active: true, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	u := oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt-theirs"},
		Issue: []oauth.IssuedToken{{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt-new"},
			Record: oauth.TokenRecord{RequestID: "mine", Active: true, ExpiresAt: exp}}}}
	if _, err := s.UseToken(ctx, u); err == nil {
		t.Fatal("UseToken of another request's token succeeded")
	}
	if rec, err := s.GetToken(ctx, oauth.KindRefresh, "rt-theirs"); err != nil || !rec.Active {
		t.Fatalf("the other request's token after the refused use: %+v %v, want active", rec, err)
	}
	if _, err := s.GetToken(ctx, oauth.KindRefresh, "rt-new"); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("the token issued by the refused use: %v, want not found", err)
	}
}

// TestOwnKeyRecordsStillRead: records an older gateway stored in keys of
// their own (the binary form, the request's index a hash of members with
// empty values) are still read, checked, used up once, dropped with
// their refresh token and revoked, until they expire; what is issued in
// their place is kept in the request's hash.
func TestOwnKeyRecordsStillRead(t *testing.T) {
	ctx := context.Background()
	s, c := openInternal(t)
	exp := time.Now().Add(time.Hour).UTC()
	deadline := exp.Add(oauth.InactiveTail)
	access := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: exp, Request: []byte{2, 1}, Claims: []byte("claims")}
	refresh := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: exp, Request: []byte{2, 2}, AccessSignature: "at1"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// As the previous gateway wrote them.
	for _, r := range []struct {
		key    string
		rec    oauth.TokenRecord
		fields []any
	}{
		{"{req:req1}:tok:access:at1", access, []any{"chk", "claims", "exp", exp.UnixMilli()}},
		{"{req:req1}:tok:refresh:rt1", refresh, nil},
	} {
		data, err := encodeRecord(r.rec)
		must(err)
		must(c.HSet(ctx, s.prefix+r.key, append([]any{"rec", data, "active", "1"}, r.fields...)...).Err())
		must(c.PExpireAt(ctx, s.prefix+r.key, deadline).Err())
	}
	must(c.HSet(ctx, s.prefix+"{req:req1}:toks", "access:at1", "", "refresh:rt1", "").Err())
	must(c.PExpireAt(ctx, s.prefix+"{req:req1}:toks", deadline).Err())
	must(c.Set(ctx, s.prefix+"tok:access:at1", "req1\x00app1", time.Until(deadline)).Err())
	must(c.Set(ctx, s.prefix+"tok:refresh:rt1", "req1", time.Until(deadline)).Err())

	if got, err := s.GetToken(ctx, oauth.KindAccess, "at1"); err != nil || !reflect.DeepEqual(got, access) {
		t.Fatalf("GetToken of an access record in its own key = %+v, %v; want %+v", got, err, access)
	}
	check, err := s.CheckAccess(ctx, oauth.AccessQuery{Signature: "at1"})
	if err != nil || !check.Record.Active || string(check.Record.Claims) != "claims" || check.Record.ClientID != "app1" {
		t.Fatalf("CheckAccess of an access record in its own key = %+v, %v", check.Record, err)
	}
	at2 := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: exp, Request: []byte{2, 3}, Claims: []byte("claims2")}
	rt2 := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: exp, Request: []byte{2, 4}, AccessSignature: "at2"}
	u := oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt1"}, DropAccess: true,
		Issue: []oauth.IssuedToken{
			{TokenRef: oauth.TokenRef{Kind: oauth.KindAccess, Signature: "at2"}, Record: at2},
			{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt2"}, Record: rt2},
		}}
	if was, err := s.UseToken(ctx, u); err != nil || !reflect.DeepEqual(was, refresh) {
		t.Fatalf("UseToken of a refresh record in its own key = %+v, %v; want %+v", was, err, refresh)
	}
	if _, err := s.GetToken(ctx, oauth.KindAccess, "at1"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("the used refresh token's access token: %v, want not found", err)
	}
	for _, key := range []string{"{req:req1}:tok:access:at1", "tok:access:at1"} {
		if n, _ := c.Exists(ctx, s.prefix+key).Result(); n != 0 {
			t.Errorf("%s is left after its refresh token was used", key)
		}
	}
	tomb := refresh
	tomb.Active, tomb.Request, tomb.AccessSignature = false, nil, ""
	if got, err := s.GetToken(ctx, oauth.KindRefresh, "rt1"); err != nil || !reflect.DeepEqual(got, tomb) {
		t.Errorf("the used refresh token = %+v, %v; want the tombstone %+v", got, err, tomb)
	}
	for sig, want := range map[string]oauth.TokenRecord{"at2": at2, "rt2": rt2} {
		kind := map[string]oauth.TokenKind{"at2": oauth.KindAccess, "rt2": oauth.KindRefresh}[sig]
		if got, err := s.GetToken(ctx, kind, sig); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("issued %s = %+v, %v; want %+v", sig, got, err, want)
		}
		if v, err := c.HGet(ctx, s.prefix+"{req:req1}:toks", member(kind, sig)).Result(); err != nil || v == "" || v[0] != recordV3 {
			t.Errorf("issued %s is not kept in the request's hash: %q, %v", sig, v, err)
		}
	}
	if _, err := s.UseToken(ctx, u); !errors.Is(err, oauth.ErrInactive) {
		t.Errorf("using the refresh token again: %v, want ErrInactive", err)
	}
	must(s.RevokeRequest(ctx, "req1"))
	for _, r := range []oauth.TokenRef{{Kind: oauth.KindRefresh, Signature: "rt1"}, {Kind: oauth.KindAccess, Signature: "at2"}, {Kind: oauth.KindRefresh, Signature: "rt2"}} {
		if _, err := s.GetToken(ctx, r.Kind, r.Signature); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("%s %s after revoking its request: %v, want not found", r.Kind, r.Signature, err)
		}
	}
	if keys, _ := c.Keys(ctx, s.prefix+"{req:req1}*").Result(); len(keys) != 0 {
		t.Errorf("keys left of a revoked request: %q", keys)
	}
}

// TestUsedHashDropsPastTombstones: retiring a record drops the
// tombstones of its request that are past their deadline, so that a
// request refreshed for months keeps only the last day's.
func TestUsedHashDropsPastTombstones(t *testing.T) {
	ctx := context.Background()
	s, c := openInternal(t)
	rec := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateToken(ctx, oauth.KindRefresh, "rt1", rec); err != nil {
		t.Fatal(err)
	}
	used := s.usedKey("req1")
	past, future := "\x00\x00\x00\x00\x00\x00\x00\x01\x02\x00\x00\x00", "\x7f\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00"
	if err := c.HSet(ctx, used, "refresh:gone", past, "refresh:kept", future).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := s.UseToken(ctx, oauth.TokenUse{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt1"},
		Issue: []oauth.IssuedToken{{TokenRef: oauth.TokenRef{Kind: oauth.KindRefresh, Signature: "rt2"}, Record: rec}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.HKeys(ctx, used).Result()
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []string{"refresh:kept", "refresh:rt1"}) {
		t.Fatalf("the used hash holds %q (%v), want the tombstone not yet past its deadline and the new one", got, err)
	}
}

// TestPointerValue: a pointer names its request (a UUID in 16 bytes) and,
// for an access token, its client; pointers an older gateway wrote, with
// the UUID's 36 characters, still read.
func TestPointerValue(t *testing.T) {
	const id = "3cfdb058-856a-4918-8853-b286f8756a96"
	for _, c := range []struct {
		name       string
		rec        oauth.TokenRecord
		maxLen     int
		wantClient string
	}{
		{"refresh token, UUID", oauth.TokenRecord{RequestID: id, ClientID: "app1"}, 17, ""},
		{"access token, UUID", oauth.TokenRecord{RequestID: id, ClientID: "app1", Claims: []byte("c")}, 22, "app1"},
		{"not a UUID", oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Claims: []byte("c")}, 9, "app1"},
		{"a UUID not in its canonical form", oauth.TokenRecord{RequestID: strings.ToUpper(id)}, 36, ""},
		{"a UUID whose bytes hold NUL", oauth.TokenRecord{RequestID: "00000000-0000-4000-8000-000000000000", ClientID: "a", Claims: []byte("c")}, 19, "a"},
	} {
		v := pointerValue(c.rec)
		if len(v) > c.maxLen {
			t.Errorf("%s: the pointer holds %d bytes, want at most %d", c.name, len(v), c.maxLen)
		}
		if gotID, gotClient := parsePointer(v); gotID != c.rec.RequestID || gotClient != c.wantClient {
			t.Errorf("%s: parsePointer = %q, %q; want %q, %q", c.name, gotID, gotClient, c.rec.RequestID, c.wantClient)
		}
	}
	for v, want := range map[string][2]string{id: {id, ""}, id + "\x00app1": {id, "app1"}} {
		if gotID, gotClient := parsePointer(v); gotID != want[0] || gotClient != want[1] {
			t.Errorf("an older gateway's pointer %q reads as %q, %q; want %q", v, gotID, gotClient, want)
		}
	}
}

// openInternal opens a Store on a Redis server of the test's own, closed
// when the test ends.
func openInternal(t *testing.T) (*Store, goredis.UniversalClient) {
	t.Helper()
	srv := storetest.StartRedis(t)
	s, c, err := Open(context.Background(), srv.URL, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}
