package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/admin"
	"github.com/patientaccess/gateway/gateway/store/memory"
)

const testToken = "s3cret-admin-token"

// t0 is near the real time: the stores keep audit events for their
// retention, judged by their own clock.
var t0 = time.Now().UTC().Truncate(time.Second)

// storeAudit records audit events straight into the store.
type storeAudit struct{ apps.Store }

func (a storeAudit) Record(ctx context.Context, e apps.Event) error { return a.AppendEvent(ctx, e) }

// newServer serves the admin API over store (a fresh memory store when nil).
func newServer(t *testing.T, token string, store apps.Store) *httptest.Server {
	t.Helper()
	if store == nil {
		store = memory.New(nil)
	}
	// The clock ticks a second per reading, so listings have one order.
	var ticks atomic.Int64
	now := func() time.Time { return t0.Add(time.Duration(ticks.Add(1)) * time.Second) }
	h := &admin.Handler{Registry: &apps.Registry{Store: store, Audit: storeAudit{store}, Now: now}, Store: store, Token: token}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   string
}

// errorCode returns the "error" field of a JSON error answer.
func (a answer) errorCode(t *testing.T) string {
	t.Helper()
	var e admin.ErrorResponse
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		t.Fatalf("error answer is not JSON: %q", a.body)
	}
	return e.Error
}

func call(t *testing.T, srv *httptest.Server, method, path, auth, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s %s: Cache-Control = %q, want no-store", method, path, resp.Header.Get("Cache-Control"))
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

const validBody = `{"name":"Health Wallet","redirect_uris":["https://wallet.example/cb"]}`

func TestAuth(t *testing.T) {
	srv := newServer(t, testToken, nil)
	routes := []struct{ method, path, body string }{
		{"GET", "/admin/apps", ""},
		{"POST", "/admin/apps", validBody},
		{"GET", "/admin/apps/x", ""},
		{"POST", "/admin/apps/x/approve", ""},
		{"GET", "/admin/audit", ""},
		{"GET", "/admin/nothing-here", ""},
	}
	auths := []struct {
		name, header string
		want         int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong token", "Bearer wrong", http.StatusUnauthorized},
		{"token prefix", "Bearer " + testToken[:5], http.StatusUnauthorized},
		{"token plus suffix", "Bearer " + testToken + "x", http.StatusUnauthorized},
		{"basic scheme", "Basic " + testToken, http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"right token", "Bearer " + testToken, 0},
		{"lower-case scheme", "bearer " + testToken, 0},
	}
	for _, rt := range routes {
		for _, a := range auths {
			t.Run(rt.method+rt.path+"/"+a.name, func(t *testing.T) {
				got := call(t, srv, rt.method, rt.path, a.header, rt.body)
				if a.want == 0 {
					if got.status == http.StatusUnauthorized {
						t.Fatalf("right token refused: %s", got.body)
					}
					return
				}
				if got.status != a.want || got.errorCode(t) != "invalid_token" {
					t.Fatalf("status %d body %s, want %d invalid_token", got.status, got.body, a.want)
				}
				if !strings.HasPrefix(got.header.Get("WWW-Authenticate"), `Bearer realm="admin"`) {
					t.Errorf("WWW-Authenticate = %q", got.header.Get("WWW-Authenticate"))
				}
			})
		}
	}
}

func TestAdminOff(t *testing.T) {
	srv := newServer(t, "", nil)
	for _, path := range []string{"/admin/apps", "/admin/audit", "/admin/apps/x/approve"} {
		for _, auth := range []string{"", "Bearer ", "Bearer anything"} {
			got := call(t, srv, "GET", path, auth, "")
			if got.status != http.StatusNotFound || got.errorCode(t) != "not_found" ||
				!strings.Contains(got.body, "the admin API is off: set GATEWAY_ADMIN_TOKEN") {
				t.Errorf("GET %s with %q: %d %s", path, auth, got.status, got.body)
			}
		}
	}
}

func TestRegisterRefusals(t *testing.T) {
	srv := newServer(t, testToken, nil)
	tests := []struct {
		name, body string
		status     int
		want       []string // substrings of the description
	}{
		{"empty body", ``, 400, []string{"JSON body is required"}},
		{"not JSON", `name=x`, 400, []string{"not valid JSON"}},
		{"unknown field", `{"name":"A","redirect_uris":["https://a.example/cb"],"secret":"x"}`, 400, []string{"unknown field"}},
		{"trailing data", validBody + `{}`, 400, []string{"trailing data"}},
		{"too big", `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, 413, []string{"64 KiB"}},
		{"missing name", `{"redirect_uris":["https://a.example/cb"]}`, 400, []string{"name is required"}},
		{"bad redirect", `{"name":"A","redirect_uris":["http://a.example/cb"]}`, 400, []string{"must use https"}},
		{"bad scope", `{"name":"A","redirect_uris":["https://a.example/cb"],"scope":"patient/Patient.write!"}`, 400, []string{"scope"}},
		{"every problem", `{"redirect_uris":["javascript:x"],"scope":"patient/*.bogus"}`, 400,
			[]string{"name is required", "forbidden scheme", "scope"}},
		{"bad attestation", `{"name":"A","redirect_uris":["https://a.example/cb"],"attestation":"maybe"}`, 400, []string{"attestation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := call(t, srv, "POST", "/admin/apps", "Bearer "+testToken, tt.body)
			if got.status != tt.status || got.errorCode(t) != "invalid_request" {
				t.Fatalf("status %d body %s, want %d invalid_request", got.status, got.body, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(got.body, w) {
					t.Errorf("body %s does not mention %q", got.body, w)
				}
			}
		})
	}
	if got := call(t, srv, "GET", "/admin/apps", "Bearer "+testToken, ""); !strings.Contains(got.body, `"apps":[]`) &&
		!strings.Contains(got.body, `"apps": []`) {
		t.Errorf("a refused registration was stored: %s", got.body)
	}
}

// failingStore fails every app write with its error.
type failingStore struct {
	apps.Store
	err error
}

func (f failingStore) CreateApp(context.Context, apps.App) error    { return f.err }
func (f failingStore) ListApps(context.Context) ([]apps.App, error) { return nil, f.err }

func TestStoreErrors(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		err                      error
		status                   int
		code                     string
	}{
		{"conflict", "POST", "/admin/apps", validBody, apps.ErrAlreadyExists, 409, "conflict"},
		{"server error on create", "POST", "/admin/apps", validBody, errors.New("redis: connection refused at 10.0.0.7"), 500, "server_error"},
		{"server error on list", "GET", "/admin/apps", "", errors.New("redis: connection refused at 10.0.0.7"), 500, "server_error"},
		{"unknown app", "GET", "/admin/apps/nope", "", nil, 404, "not_found"},
		{"decide unknown app", "POST", "/admin/apps/nope/approve", "", nil, 404, "not_found"},
		{"unknown action", "POST", "/admin/apps/nope/delete", "", nil, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, testToken, failingStore{memory.New(nil), tt.err})
			got := call(t, srv, tt.method, tt.path, "Bearer "+testToken, tt.body)
			if got.status != tt.status || got.errorCode(t) != tt.code {
				t.Fatalf("status %d body %s, want %d %s", got.status, got.body, tt.status, tt.code)
			}
			if strings.Contains(got.body, "10.0.0.7") {
				t.Errorf("the cause leaked to the client: %s", got.body)
			}
		})
	}
}
