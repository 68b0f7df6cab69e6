package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

func testMembers(t *testing.T, b Backend, _ *Clock) {
	ctx := context.Background()
	_, err := b.GetMember(ctx, "alice")
	wantErr(t, "get missing member", err, oauth.ErrNotFound)
	m := oauth.Member{Username: "alice", DisplayName: "Alice A.", PasswordHash: "$argon2id$v=19$x", PatientID: "pat-1"}
	wantErr(t, "put member", b.PutMember(ctx, m), nil)
	got, err := b.GetMember(ctx, "alice")
	wantErr(t, "get member", err, nil)
	wantEqual(t, "member", got, m)

	m.DisplayName, m.PasswordHash = "Alice B.", "$argon2id$v=19$y"
	wantErr(t, "replace member", b.PutMember(ctx, m), nil)
	got, _ = b.GetMember(ctx, "alice")
	wantEqual(t, "replaced member", got, m)
	_, err = b.GetMember(ctx, "bob")
	wantErr(t, "get other member", err, oauth.ErrNotFound)
}

func newSession(id string, c *Clock) oauth.LoginSession {
	return oauth.LoginSession{ID: id, Member: "alice", CreatedAt: c.Now(), ExpiresAt: c.Now().Add(30 * time.Minute)}
}

func testSessions(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	_, err := b.GetSession(ctx, "s1")
	wantErr(t, "get missing session", err, oauth.ErrNotFound)
	s1, s2 := newSession("s1", c), newSession("s2", c)
	wantErr(t, "put session", b.PutSession(ctx, s1), nil)
	wantErr(t, "put session", b.PutSession(ctx, s2), nil)
	got, err := b.GetSession(ctx, "s1")
	wantErr(t, "get session", err, nil)
	wantEqual(t, "session", got, s1)

	wantErr(t, "delete session", b.DeleteSession(ctx, "s1"), nil)
	_, err = b.GetSession(ctx, "s1")
	wantErr(t, "get deleted session", err, oauth.ErrNotFound)
	wantErr(t, "delete missing session", b.DeleteSession(ctx, "s1"), nil)
	got, err = b.GetSession(ctx, "s2")
	wantErr(t, "get other session", err, nil)
	wantEqual(t, "other session", got, s2)
}

func testSessionExpiry(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	s := newSession("s1", c)
	wantErr(t, "put session", b.PutSession(ctx, s), nil)
	if e, ok := b.(Expirer); ok {
		at, err := e.SessionExpiry(ctx, "s1")
		wantErr(t, "session expiry", err, nil)
		if !at.Equal(s.ExpiresAt) {
			t.Fatalf("session expires on the server at %v, want %v", at, s.ExpiresAt)
		}
		_, err = e.SessionExpiry(ctx, "nope")
		wantErr(t, "missing session expiry", err, oauth.ErrNotFound)
	}
	c.Advance(30*time.Minute - time.Millisecond)
	_, err := b.GetSession(ctx, "s1")
	wantErr(t, "get session just before expiry", err, nil)
	c.Advance(time.Millisecond)
	_, err = b.GetSession(ctx, "s1")
	wantErr(t, "get session at expiry", err, oauth.ErrNotFound)
}
