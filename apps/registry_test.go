package apps

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStore is a map-based Store for the registry's tests; grants are not
// used by the registry.
type fakeStore struct {
	mu          sync.Mutex
	apps        map[string]App
	order       []string
	events      []Event
	logos       map[string][]byte
	failWrite   error
	history     []HistoryEntry
	failHistory error
	checks      map[string]Checks
}

func newFakeStore() *fakeStore {
	return &fakeStore{apps: map[string]App{}, logos: map[string][]byte{}, checks: map[string]Checks{}}
}

func (f *fakeStore) PutAppLogo(_ context.Context, id string, png []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logos[id] = png
	return nil
}

func (f *fakeStore) GetAppLogo(_ context.Context, id string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.logos[id]; ok {
		return l, nil
	}
	return nil, ErrNotFound
}

func (f *fakeStore) CreateApp(_ context.Context, a App) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWrite != nil {
		return f.failWrite
	}
	if _, ok := f.apps[a.ClientID]; ok {
		return ErrAlreadyExists
	}
	f.apps[a.ClientID] = a
	f.order = append(f.order, a.ClientID)
	return nil
}

func (f *fakeStore) GetApp(_ context.Context, id string) (App, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[id]
	if !ok {
		return App{}, ErrNotFound
	}
	return a, nil
}

func (f *fakeStore) UpdateApp(_ context.Context, id string, change func(App) (App, error)) (App, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWrite != nil {
		return App{}, f.failWrite
	}
	a, ok := f.apps[id]
	if !ok {
		return App{}, ErrNotFound
	}
	a, err := change(a)
	if err != nil {
		return App{}, err
	}
	f.apps[id] = a
	return a, nil
}

func (f *fakeStore) ListApps(context.Context) ([]App, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []App{}
	for _, id := range f.order {
		out = append(out, f.apps[id])
	}
	return out, nil
}

func (f *fakeStore) CreateGrant(context.Context, Grant) error            { return errors.New("unused") }
func (f *fakeStore) GetGrant(context.Context, string) (Grant, error)     { return Grant{}, ErrNotFound }
func (f *fakeStore) ListGrants(context.Context, string) ([]Grant, error) { return nil, nil }
func (f *fakeStore) RevokeGrant(context.Context, string, time.Time) error {
	return ErrNotFound
}

func (f *fakeStore) AppendEvent(_ context.Context, e Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
	return nil
}

func (f *fakeStore) ListEvents(_ context.Context, limit int) ([]Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.events)
	slices.Reverse(out)
	return out[:min(limit, len(out))], nil
}

func (f *fakeStore) ListMemberEvents(context.Context, string, string, int) ([]Event, error) {
	return nil, errors.New("not used by the registry")
}

// storeAudit records events into the fake store.
type storeAudit struct{ s *fakeStore }

func (a storeAudit) Record(ctx context.Context, e Event) error { return a.s.AppendEvent(ctx, e) }

type failingAudit struct{}

func (failingAudit) Record(context.Context, Event) error { return errors.New("audit down") }

var _ Store = (*fakeStore)(nil)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestRegistry() (*Registry, *fakeStore, *time.Time) {
	st := newFakeStore()
	now := t0
	return &Registry{Store: st, Audit: storeAudit{st}, Now: func() time.Time { return now }}, st, &now
}

var devActor = Actor{Kind: ActorDeveloper, ID: "dev-1", Name: "Dana Developer"}

func validReg() Registration {
	return Registration{Name: "Tracker", Developer: "Acme", RedirectURIs: []string{"https://app.example.com/cb"}}
}

func TestRegisterValid(t *testing.T) {
	idPattern := regexp.MustCompile(`^[A-Za-z0-9_-]{22,}$`)
	tests := []struct {
		name   string
		mutate func(*Registration)
	}{
		{"confidential https", func(*Registration) {}},
		{"public", func(r *Registration) { r.Public = true }},
		{"loopback ipv4", func(r *Registration) { r.RedirectURIs = []string{"http://127.0.0.1:9000/callback"} }},
		{"loopback ipv6", func(r *Registration) { r.RedirectURIs = []string{"http://[::1]:8080/cb"} }},
		{"localhost", func(r *Registration) { r.RedirectURIs = []string{"http://localhost/cb"} }},
		{"native scheme", func(r *Registration) { r.RedirectURIs = []string{"com.example.app:/callback"} }},
		{"links", func(r *Registration) {
			r.PrivacyPolicyURL, r.TermsURL = "https://example.com/privacy", "http://localhost:3000/terms"
		}},
		{"scopes given", func(r *Registration) { r.Scopes = []string{"openid", "patient/Coverage.rs"} }},
		{"attested", func(r *Registration) { r.Attestation = AttestAll(true, "", time.Time{}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg, st, _ := newTestRegistry()
			in := validReg()
			tc.mutate(&in)
			out, err := reg.Register(context.Background(), in, devActor)
			app, secret := out.App, out.Secret
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			if !idPattern.MatchString(app.ClientID) {
				t.Errorf("client id %q is not 22+ URL-safe characters", app.ClientID)
			}
			if app.Status != StatusPending || !app.CreatedAt.Equal(t0) || !app.UpdatedAt.Equal(t0) {
				t.Errorf("status %q created %v updated %v, want pending at %v", app.Status, app.CreatedAt, app.UpdatedAt, t0)
			}
			if in.Public != (secret == "") || in.Public != (app.SecretHash == nil) {
				t.Errorf("public=%v but secret=%q hash=%x", in.Public, secret, app.SecretHash)
			}
			if !in.Public && !SecretMatches(app.SecretHash, secret) {
				t.Error("stored hash does not match the returned secret")
			}
			wantScopes := in.Scopes
			if len(wantScopes) == 0 {
				wantScopes = DefaultScopes
			}
			if !slices.Equal(app.Scopes, wantScopes) {
				t.Errorf("scopes %v, want %v", app.Scopes, wantScopes)
			}
			if want := in.Attestation.Status(); app.Attestation.Status() != want {
				t.Errorf("attestation %q, want %q", app.Attestation.Status(), want)
			}
			if want := in.Attestation.Status() != AttestationNone; want != (app.Attestation.By == devActor.Name && app.Attestation.At.Equal(t0)) {
				t.Errorf("attestation by %q at %v: the registering developer and the time are recorded with answers only", app.Attestation.By, app.Attestation.At)
			}
			stored, err := st.GetApp(context.Background(), app.ClientID)
			if err != nil || stored.ClientID != app.ClientID || !slices.Equal(stored.RedirectURIs, in.RedirectURIs) {
				t.Errorf("stored %+v, %v", stored, err)
			}
			if len(st.events) != 1 || st.events[0].Action != "app.register" || st.events[0].ClientID != app.ClientID {
				t.Errorf("events %+v, want one app.register", st.events)
			}
		})
	}
}

func TestRegisterUniqueIDs(t *testing.T) {
	reg, _, _ := newTestRegistry()
	seen := map[string]bool{}
	for range 50 {
		out, err := reg.Register(context.Background(), validReg(), devActor)
		if err != nil {
			t.Fatal(err)
		}
		app, secret := out.App, out.Secret
		if seen[app.ClientID] || seen[secret] {
			t.Fatalf("repeated id or secret after %d registrations", len(seen)/2)
		}
		seen[app.ClientID], seen[secret] = true, true
	}
}

func TestRegisterDefaultScopesNotAliased(t *testing.T) {
	reg, _, _ := newTestRegistry()
	out, err := reg.Register(context.Background(), validReg(), devActor)
	if err != nil {
		t.Fatal(err)
	}
	app := out.App
	app.Scopes[0] = "changed"
	if DefaultScopes[0] == "changed" {
		t.Fatal("the registered app shares DefaultScopes' backing array")
	}
}

func TestRegisterStoreFailure(t *testing.T) {
	reg, st, _ := newTestRegistry()
	st.failWrite = errors.New("disk full")
	if _, err := reg.Register(context.Background(), validReg(), devActor); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the store's error", err)
	}
	if len(st.events) != 0 {
		t.Fatalf("a failed registration was audited: %+v", st.events)
	}
}

func TestRegisterAuditFailureKeepsSecret(t *testing.T) {
	st := newFakeStore()
	reg := &Registry{Store: st, Audit: failingAudit{}}
	out, err := reg.Register(context.Background(), validReg(), devActor)
	app, secret := out.App, out.Secret
	if !errors.Is(err, ErrNotAudited) || errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrNotAudited", err)
	}
	if app.ClientID == "" || secret == "" || !SecretMatches(app.SecretHash, secret) {
		t.Fatalf("stored app or secret lost: %+v %q", app, secret)
	}
}

func TestGetAndList(t *testing.T) {
	reg, _, _ := newTestRegistry()
	ctx := context.Background()
	ra, _ := reg.Register(ctx, validReg(), devActor)
	rb, _ := reg.Register(ctx, validReg(), devActor)
	a, b := ra.App, rb.App
	if got, err := reg.Get(ctx, b.ClientID); err != nil || got.ClientID != b.ClientID {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := reg.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	list, err := reg.List(ctx)
	if err != nil || len(list) != 2 || list[0].ClientID != a.ClientID || list[1].ClientID != b.ClientID {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

// TestRegisterLimits pins the edges of the size limits and the schemes
// refused outright.
func TestRegisterLimits(t *testing.T) {
	uris := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, "https://app.example.com/cb/"+strconv.Itoa(i))
		}
		return out
	}
	tests := []struct {
		name   string
		mutate func(*Registration)
		want   string // "" means accepted
	}{
		{"10 redirect URIs", func(r *Registration) { r.RedirectURIs = uris(maxRedirectURIs) }, ""},
		{"11 redirect URIs", func(r *Registration) { r.RedirectURIs = uris(maxRedirectURIs + 1) }, "at most 10 redirect URIs"},
		{"name of 200 characters", func(r *Registration) { r.Name = strings.Repeat("é", maxName) }, ""},
		{"name of 201 characters", func(r *Registration) { r.Name = strings.Repeat("a", maxName+1) }, "name is longer than 200"},
		{"escape sequence in name", func(r *Registration) { r.Name = "App\x1b[31m" }, "name contains control"},
		{"vbscript", func(r *Registration) { r.RedirectURIs = []string{"vbscript:msgbox(1)"} }, "forbidden scheme"},
		{"opaque https", func(r *Registration) { r.RedirectURIs = []string{"https:app.example.com"} }, "must have a host"},
		{"privacy link on a private scheme", func(r *Registration) { r.PrivacyPolicyURL = "com.example.app:/p" }, "privacy_policy_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg, _, _ := newTestRegistry()
			in := validReg()
			tc.mutate(&in)
			_, err := reg.Register(context.Background(), in, devActor)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Register: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}

// TestGrantLife: a grant allows access until it is revoked or its time
// runs out; a grant without an end (stored before grants had one) lasts
// until revoked.
func TestGrantLife(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	end := t0.Add(time.Hour)
	revoked := t0.Add(time.Minute)
	tests := []struct {
		name string
		g    Grant
		at   time.Time
		live bool
	}{
		{"before the end", Grant{ExpiresAt: end}, end.Add(-time.Nanosecond), true},
		{"at the end", Grant{ExpiresAt: end}, end, false},
		{"revoked", Grant{ExpiresAt: end, RevokedAt: &revoked}, t0.Add(2 * time.Minute), false},
		{"no end", Grant{}, t0.AddDate(10, 0, 0), true},
	}
	for _, tt := range tests {
		if got := tt.g.Live(tt.at); got != tt.live {
			t.Errorf("%s: Live = %v, want %v", tt.name, got, tt.live)
		}
	}
}

func (f *fakeStore) AppendHistory(_ context.Context, e HistoryEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failHistory != nil {
		return f.failHistory
	}
	f.history = append(f.history, copyEntry(e))
	return nil
}

func (f *fakeStore) ListHistory(_ context.Context, id string) ([]HistoryEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []HistoryEntry{}
	for _, e := range f.history {
		if id == "" || e.ClientID == id {
			out = append(out, copyEntry(e))
		}
	}
	return out, nil
}

func (f *fakeStore) PutChecks(_ context.Context, c Checks) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks[c.ClientID] = copyChecks(c)
	return nil
}

func (f *fakeStore) GetChecks(_ context.Context, id string) (Checks, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.checks[id]
	if !ok {
		return Checks{}, ErrNotFound
	}
	return copyChecks(c), nil
}

func (f *fakeStore) PutPolicyWatch(context.Context, PolicyWatch) error { return errors.New("unused") }
func (f *fakeStore) GetPolicyWatch(context.Context, string) (PolicyWatch, error) {
	return PolicyWatch{}, ErrNotFound
}
func (f *fakeStore) NoteAppCall(context.Context, string, time.Time) error {
	return errors.New("unused")
}
func (f *fakeStore) AppUsage(context.Context, string, time.Time) (Usage, error) {
	return Usage{}, errors.New("unused")
}
