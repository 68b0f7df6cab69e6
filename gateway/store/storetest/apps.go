package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
)

func newApp(id string, created time.Time) apps.App {
	return apps.App{
		ClientID:              id,
		Name:                  "App " + id,
		Developer:             "Example Health Apps",
		RedirectURIs:          []string{"https://app.example/cb", "https://app.example/cb2"},
		SecretHash:            []byte{1, 2, 3, 4},
		Scopes:                []string{"launch/patient", "patient/*.rs"},
		PrivacyPolicyURL:      "https://app.example/privacy",
		WebhookURL:            "https://app.example/hooks/revoked",
		WebsiteURL:            "https://app.example/",
		HasLogo:               true,
		Attestation:           apps.AttestAll(true, "Dana Developer", created.Add(-time.Hour)),
		Description:           "Tracks claims and coverage.",
		ContactEmail:          "security@app.example",
		ContactPhone:          "+1 555 0100",
		LogoURI:               "https://app.example/logo.png",
		RegisteredBy:          apps.Actor{Kind: apps.ActorDeveloper, ID: "dev-1", Name: "Dana Developer"},
		RegistrationTokenHash: []byte{5, 6, 7},
		PolicyChangedAt:       created.Add(-time.Minute),
		Status:                apps.StatusPending,
		CreatedAt:             created,
		UpdatedAt:             created,
	}
}

func testAppsCRUD(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	_, err := b.GetApp(ctx, "app1")
	wantErr(t, "get missing app", err, apps.ErrNotFound)
	_, err = b.UpdateApp(ctx, "app1", func(a apps.App) (apps.App, error) { return a, nil })
	wantErr(t, "update missing app", err, apps.ErrNotFound)

	a := newApp("app1", c.Now())
	wantErr(t, "create app", b.CreateApp(ctx, a), nil)
	got, err := b.GetApp(ctx, "app1")
	wantErr(t, "get app", err, nil)
	wantEqual(t, "get app", got, a)

	dup := newApp("app1", c.Now())
	dup.Name = "Impostor"
	wantErr(t, "create duplicate app", b.CreateApp(ctx, dup), apps.ErrAlreadyExists)
	got, _ = b.GetApp(ctx, "app1")
	wantEqual(t, "app after refused duplicate", got.Name, a.Name)

	seen := apps.App{}
	updated, err := b.UpdateApp(ctx, "app1", func(cur apps.App) (apps.App, error) {
		seen = cur
		cur.Status, cur.StatusReason, cur.UpdatedAt = apps.StatusSuspended, "key leaked", c.Now().Add(time.Minute)
		cur.SecretHash = nil
		return cur, nil
	})
	wantErr(t, "update app", err, nil)
	wantEqual(t, "app the change saw", seen, a)
	a.Status, a.StatusReason, a.UpdatedAt = apps.StatusSuspended, "key leaked", c.Now().Add(time.Minute)
	a.SecretHash = nil
	wantEqual(t, "app UpdateApp returned", updated, a)
	got, err = b.GetApp(ctx, "app1")
	wantErr(t, "get updated app", err, nil)
	wantEqual(t, "updated app", got, a)

	refused := errors.New("refused by the change")
	_, err = b.UpdateApp(ctx, "app1", func(cur apps.App) (apps.App, error) {
		cur.Name = "Changed"
		return cur, refused
	})
	wantErr(t, "update refused by its change", err, refused)
	_, err = b.UpdateApp(ctx, "app1", func(cur apps.App) (apps.App, error) {
		cur.ClientID = "app2"
		return cur, nil
	})
	if err == nil {
		t.Fatal("an update that changed the client id succeeded")
	}
	got, _ = b.GetApp(ctx, "app1")
	wantEqual(t, "app after refused updates", got, a)
	_, err = b.GetApp(ctx, "app2")
	wantErr(t, "app under the changed id", err, apps.ErrNotFound)
}

// testAppsUpdateRace: concurrent updates of one app all land; none is
// lost to another that read the app before it wrote.
func testAppsUpdateRace(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	wantErr(t, "create app", b.CreateApp(ctx, newApp("app1", c.Now())), nil)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := b.UpdateApp(ctx, "app1", func(a apps.App) (apps.App, error) {
				a.Scopes = append(a.Scopes, fmt.Sprint("patient/T", i, ".rs"))
				return a, nil
			})
			if err != nil {
				t.Errorf("update %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got, _ := b.GetApp(ctx, "app1")
	if want := len(newApp("app1", c.Now()).Scopes) + n; len(got.Scopes) != want {
		t.Fatalf("after %d concurrent updates the app has %d scopes, want %d: updates were lost", n, len(got.Scopes), want)
	}
}

func testAppsListOrder(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	list, err := b.ListApps(ctx)
	wantErr(t, "list no apps", err, nil)
	if list == nil || len(list) != 0 {
		t.Fatalf("list no apps = %#v, want an empty non-nil slice", list)
	}
	t0 := c.Now()
	// Created out of order; "b" and "c" tie and are ordered by client id.
	for _, a := range []apps.App{
		newApp("c", t0.Add(2*time.Second)),
		newApp("a", t0.Add(3*time.Second)),
		newApp("d", t0),
		newApp("b", t0.Add(2*time.Second)),
		newApp("e", t0.Add(time.Millisecond)),
	} {
		wantErr(t, "create app "+a.ClientID, b.CreateApp(ctx, a), nil)
	}
	list, err = b.ListApps(ctx)
	wantErr(t, "list apps", err, nil)
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ClientID)
	}
	wantEqual(t, "list order", ids, []string{"d", "e", "b", "c", "a"})
	wantEqual(t, "listed app", list[0], newApp("d", t0))
}

func testAppsCopies(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	a := newApp("app1", c.Now())
	wantErr(t, "create app", b.CreateApp(ctx, a), nil)
	a.RedirectURIs[0], a.Scopes[0], a.SecretHash[0] = "https://evil.example", "user/*.*", 9

	got, _ := b.GetApp(ctx, "app1")
	wantEqual(t, "app after caller changed its input", got, newApp("app1", c.Now()))
	got.RedirectURIs[1], got.Scopes[1], got.SecretHash[1] = "https://evil.example", "user/*.*", 9
	list, _ := b.ListApps(ctx)
	list[0].RedirectURIs[0] = "https://evil.example"
	again, _ := b.GetApp(ctx, "app1")
	wantEqual(t, "app after caller changed what it read", again, newApp("app1", c.Now()))
}

func newGrant(id, member string, created time.Time) apps.Grant {
	return apps.Grant{
		ID: id, Member: member, Patient: "pat-" + member, ClientID: "app1",
		Scopes: []string{"launch/patient", "patient/Coverage.rs"}, Sensitive: true, OneTime: member == "bob",
		ExpiresAt: created.AddDate(0, 13, 0), CreatedAt: created,
	}
}

func testGrants(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	_, err := b.GetGrant(ctx, "g1")
	wantErr(t, "get missing grant", err, apps.ErrNotFound)
	list, err := b.ListGrants(ctx, "alice")
	wantErr(t, "list no grants", err, nil)
	if list == nil || len(list) != 0 {
		t.Fatalf("list no grants = %#v, want an empty non-nil slice", list)
	}

	t0 := c.Now()
	want := map[string]apps.Grant{}
	for i, g := range []apps.Grant{
		newGrant("g1", "alice", t0),
		newGrant("g2", "alice", t0.Add(2*time.Minute)),
		newGrant("g3", "bob", t0.Add(time.Minute)),
		newGrant("g4", "alice", t0.Add(time.Minute)),
		newGrant("g0", "alice", t0.Add(time.Minute)),
	} {
		wantErr(t, fmt.Sprint("create grant ", i), b.CreateGrant(ctx, g), nil)
		want[g.ID] = g
	}
	wantErr(t, "create duplicate grant", b.CreateGrant(ctx, newGrant("g1", "bob", t0)), apps.ErrAlreadyExists)

	got, err := b.GetGrant(ctx, "g1")
	wantErr(t, "get grant", err, nil)
	wantEqual(t, "get grant", got, want["g1"])
	got.Scopes[0] = "user/*.*"
	again, _ := b.GetGrant(ctx, "g1")
	wantEqual(t, "grant after caller changed what it read", again, want["g1"])

	list, err = b.ListGrants(ctx, "alice")
	wantErr(t, "list grants", err, nil)
	var ids []string
	for _, g := range list {
		ids = append(ids, g.ID)
		wantEqual(t, "listed grant "+g.ID, g, want[g.ID])
	}
	// Newest first; g0 and g4 tie and are ordered by id.
	wantEqual(t, "alice's grants", ids, []string{"g2", "g0", "g4", "g1"})
	list, _ = b.ListGrants(ctx, "bob")
	wantEqual(t, "bob's grants", list, []apps.Grant{want["g3"]})
}

func testGrantsRevoke(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	wantErr(t, "revoke missing grant", b.RevokeGrant(ctx, "g1", c.Now()), apps.ErrNotFound)
	g := newGrant("g1", "alice", c.Now())
	wantErr(t, "create grant", b.CreateGrant(ctx, g), nil)

	at := c.Now().Add(time.Hour)
	wantErr(t, "revoke grant", b.RevokeGrant(ctx, "g1", at), nil)
	got, err := b.GetGrant(ctx, "g1")
	wantErr(t, "get revoked grant", err, nil)
	if got.Active() || !got.RevokedAt.Equal(at) {
		t.Fatalf("revoked grant RevokedAt = %v, want %v", got.RevokedAt, at)
	}
	wantErr(t, "revoke grant again", b.RevokeGrant(ctx, "g1", at.Add(time.Hour)), nil)
	got, _ = b.GetGrant(ctx, "g1")
	if !got.RevokedAt.Equal(at) {
		t.Fatalf("revoking again moved RevokedAt to %v, want %v kept", got.RevokedAt, at)
	}
	list, _ := b.ListGrants(ctx, "alice")
	if len(list) != 1 || list[0].Active() {
		t.Fatalf("list after revoke = %+v, want the one revoked grant", list)
	}
	*list[0].RevokedAt = c.Now()
	got, _ = b.GetGrant(ctx, "g1")
	if !got.RevokedAt.Equal(at) {
		t.Fatalf("caller changed the stored RevokedAt through a pointer: %v", got.RevokedAt)
	}
}

// testGrantsForgotten: a grant is kept the audit retention
// (apps.DefaultAuditRetention unless configured) after it ended, by
// revocation or expiry, and then forgotten: not found, not listed, not
// counted.
func testGrantsForgotten(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	t0 := c.Now()
	live := newGrant("g1", "alice", t0)
	revoked := newGrant("g2", "alice", t0)
	wantErr(t, "create grant", b.CreateGrant(ctx, live), nil)
	wantErr(t, "create grant", b.CreateGrant(ctx, revoked), nil)
	wantErr(t, "revoke grant", b.RevokeGrant(ctx, "g2", t0), nil)
	ids := func() []string {
		t.Helper()
		list, err := b.ListGrants(ctx, "alice")
		wantErr(t, "list grants", err, nil)
		var ids []string
		for _, g := range list {
			ids = append(ids, g.ID)
		}
		return ids
	}
	c.Advance(apps.DefaultAuditRetention - time.Millisecond)
	wantEqual(t, "grants just before the revoked one is forgotten", ids(), []string{"g1", "g2"})
	_, err := b.GetGrant(ctx, "g2")
	wantErr(t, "get revoked grant within the retention", err, nil)
	c.Advance(time.Millisecond)
	_, err = b.GetGrant(ctx, "g2")
	wantErr(t, "get revoked grant after the retention", err, apps.ErrNotFound)
	wantEqual(t, "grants once the revoked one is forgotten", ids(), []string{"g1"})

	c.Advance(live.ExpiresAt.Sub(c.Now()) + apps.DefaultAuditRetention - time.Millisecond)
	_, err = b.GetGrant(ctx, "g1")
	wantErr(t, "get expired grant within the retention", err, nil)
	c.Advance(time.Millisecond)
	_, err = b.GetGrant(ctx, "g1")
	wantErr(t, "get expired grant after the retention", err, apps.ErrNotFound)
	if got := ids(); len(got) != 0 {
		t.Fatalf("grants after both were forgotten = %q, want none", got)
	}
}

func testEvents(t *testing.T, b Backend, c *Clock) {
	ctx := context.Background()
	list, err := b.ListEvents(ctx, 10)
	wantErr(t, "list no events", err, nil)
	if list == nil || len(list) != 0 {
		t.Fatalf("list no events = %#v, want an empty non-nil slice", list)
	}
	var want []apps.Event
	for i := range 5 {
		e := apps.Event{
			Time: c.Now().Add(time.Duration(i) * time.Second), Action: "fhir.search", Outcome: "success",
			Member: "alice", Patient: "pat-alice", ClientID: "app1",
			ResourceTypes: []string{"Coverage", "Patient"}, Count: i, RequestID: fmt.Sprint("req-", i),
		}
		wantErr(t, "append event", b.AppendEvent(ctx, e), nil)
		want = append([]apps.Event{e}, want...) // newest first
	}
	for _, tt := range []struct {
		limit int
		want  []apps.Event
	}{
		{3, want[:3]}, {5, want}, {100, want}, {1, want[:1]}, {0, []apps.Event{}}, {-1, []apps.Event{}},
	} {
		got, err := b.ListEvents(ctx, tt.limit)
		wantErr(t, "list events", err, nil)
		wantEqual(t, fmt.Sprint("events, limit ", tt.limit), got, tt.want)
	}
	got, _ := b.ListEvents(ctx, 1)
	got[0].ResourceTypes[0] = "Claim"
	again, _ := b.ListEvents(ctx, 1)
	wantEqual(t, "event after caller changed what it read", again, want[:1])
}

func testAppLogos(t *testing.T, b Backend, _ *Clock) {
	ctx := context.Background()
	_, err := b.GetAppLogo(ctx, "app1")
	wantErr(t, "get a missing logo", err, apps.ErrNotFound)
	logo := []byte("\x89PNG\r\n\x1a\nfirst")
	wantErr(t, "put logo", b.PutAppLogo(ctx, "app1", logo), nil)
	logo[8] = 'X'
	got, err := b.GetAppLogo(ctx, "app1")
	wantErr(t, "get logo", err, nil)
	wantEqual(t, "logo after the caller changed its input", string(got), "\x89PNG\r\n\x1a\nfirst")
	wantErr(t, "replace logo", b.PutAppLogo(ctx, "app1", []byte("second")), nil)
	got, _ = b.GetAppLogo(ctx, "app1")
	wantEqual(t, "replaced logo", string(got), "second")
	_, err = b.GetAppLogo(ctx, "app2")
	wantErr(t, "another app's logo", err, apps.ErrNotFound)
}
