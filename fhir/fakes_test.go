package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const testBase = "http://fhir.test/fhir"

var errStoreDown = errors.New("store down")

// fakeTokens is a TokenChecker over a fixed table; "boom" fails.
type fakeTokens map[string]Access

func (f fakeTokens) CheckToken(_ context.Context, token string) (Access, error) {
	if token == "boom" {
		return Access{}, errStoreDown
	}
	a, ok := f[token]
	if !ok {
		return Access{}, ErrInvalidToken
	}
	return a, nil
}

// fakeAudit keeps the events it is given, or fails with err when set.
type fakeAudit struct {
	mu     sync.Mutex
	events []Event
	err    error
}

func (a *fakeAudit) RecordFHIR(_ context.Context, e Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	a.events = append(a.events, e)
	return nil
}

func (a *fakeAudit) take() []Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.events
	a.events = nil
	return e
}

// testEnv is a Handler over the demo data with alice's and bob's tokens.
type testEnv struct {
	t          *testing.T
	h          *Handler
	mux        *http.ServeMux
	audit      *fakeAudit
	alice, bob DemoMember
}

var allRead = []string{"openid", "patient/Patient.read", "patient/Coverage.read", "patient/ExplanationOfBenefit.read"}

func newTestEnv(t testing.TB) *testEnv {
	src := NewMemorySource()
	if err := LoadDemo(src); err != nil {
		t.Fatalf("LoadDemo: %v", err)
	}
	return newTestEnvWith(t, src)
}

func newTestEnvWith(t testing.TB, src Source) *testEnv {
	members := DemoMembers()
	alice, bob := members[0], members[1]
	tokens := fakeTokens{
		"alice":         {Patient: alice.PatientID, Scopes: allRead, ClientID: "app-1", Member: alice.Username},
		"bob":           {Patient: bob.PatientID, Scopes: allRead, ClientID: "app-1", Member: bob.Username},
		"alice-patient": {Patient: alice.PatientID, Scopes: []string{"patient/Patient.read"}, ClientID: "app-2", Member: alice.Username},
		"alice-r":       {Patient: alice.PatientID, Scopes: []string{"patient/*.r"}, ClientID: "app-3", Member: alice.Username},
		"no-patient":    {Scopes: allRead, ClientID: "app-4", Member: alice.Username},
		"alice-all":     {Patient: alice.PatientID, Scopes: []string{"patient/*.rs"}, ClientID: "app-5", Member: alice.Username},
	}
	audit := &fakeAudit{}
	h := &Handler{
		BaseURL: testBase, Tokens: tokens, Source: src, Audit: audit,
		OAuth: OAuthURIs{
			Authorize: "http://fhir.test/oauth/authorize", Token: "http://fhir.test/oauth/token",
			Revoke: "http://fhir.test/oauth/revoke", Introspect: "http://fhir.test/oauth/introspect",
		},
		Logger: slog.New(slog.DiscardHandler),
		Now:    func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) },
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	tt, _ := t.(*testing.T)
	return &testEnv{t: tt, h: h, mux: mux, audit: audit, alice: alice, bob: bob}
}

// get requests target (a path or an absolute URL under testBase).
func (e *testEnv) get(token, target string) *httptest.ResponseRecorder {
	return e.do(http.MethodGet, token, target, "", nil)
}

func (e *testEnv) do(method, token, target, ctype string, body io.Reader) *httptest.ResponseRecorder {
	if rest, ok := strings.CutPrefix(target, testBase); ok {
		target = "/fhir" + rest
	}
	r := httptest.NewRequest(method, target, body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

func (e *testEnv) postForm(token, target string, form url.Values) *httptest.ResponseRecorder {
	return e.do(http.MethodPost, token, target, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

type testBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        int    `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   struct {
			Mode string `json:"mode"`
		} `json:"search"`
	} `json:"entry"`
}

func (b testBundle) link(rel string) string {
	for _, l := range b.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

// ids returns the ids of the bundle's entries, in order.
func (b testBundle) ids(t *testing.T) []string {
	var ids []string
	for _, e := range b.Entry {
		var r struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			t.Fatalf("entry resource: %v", err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func decodeBundle(t *testing.T, w *httptest.ResponseRecorder) testBundle {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
	}
	var b testBundle
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.ResourceType != "Bundle" || b.Type != "searchset" {
		t.Fatalf("not a searchset Bundle (%v): %s", err, w.Body)
	}
	return b
}

// outcomeCode checks w is an OperationOutcome with status and returns its
// first issue code and diagnostics.
func outcomeCode(t *testing.T, w *httptest.ResponseRecorder, status int) (string, string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/fhir+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Severity, Code, Diagnostics string
		} `json:"issue"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 {
		t.Fatalf("not an OperationOutcome with one issue (%v): %s", err, w.Body)
	}
	if oo.Issue[0].Severity != "error" {
		t.Fatalf("severity %q", oo.Issue[0].Severity)
	}
	return oo.Issue[0].Code, oo.Issue[0].Diagnostics
}

// searchAll returns the ids of every resource of typ token can find.
func (e *testEnv) searchAll(token, typ string) []string {
	b := decodeBundle(e.t, e.get(token, "/fhir/"+typ+"?_count=100"))
	if b.link("next") != "" {
		e.t.Fatalf("more than 100 %s", typ)
	}
	return b.ids(e.t)
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// leaky is a broken Source whose searches answer with another patient's
// Patient resource.
type leaky struct {
	Source
	other string
}

func (l leaky) Search(ctx context.Context, q Query) (Page, error) {
	q.Constraint.Patient = l.other
	return l.Source.Search(ctx, q)
}
