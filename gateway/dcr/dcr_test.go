package dcr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/dcr"
	"github.com/patientaccess/gateway/gateway/store/memory"
	"github.com/patientaccess/gateway/oauth"
)

type server struct {
	t     *testing.T
	srv   *httptest.Server
	store *memory.Store
	reg   *apps.Registry
}

func newServer(t *testing.T, edit func(*dcr.Handler)) *server {
	t.Helper()
	st := memory.New(nil)
	reg := &apps.Registry{Store: st}
	h := &dcr.Handler{Registry: reg, Limiter: st, ThrottleKey: []byte("k")}
	if edit != nil {
		edit(h)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.BaseURL = srv.URL
	return &server{t: t, srv: srv, store: st, reg: reg}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (s *server) do(method, path, token, body string) reply {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

func (r reply) errorCode(t *testing.T) (string, string) {
	t.Helper()
	var e dcr.Error
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("not an error object: %s", r.body)
	}
	return e.Code, e.Description
}

const goodMetadata = `{"client_name":"Tracker","redirect_uris":["https://tracker.example/cb"],"token_endpoint_auth_method":"none",
	"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"scope":"launch/patient openid patient/*.rs",
	"contacts":["security@tracker.example","tel:+1 555 010 0100"],"developer_name":"Tracker Inc.","policy_uri":"https://tracker.example/privacy",
	"privacy_attestation":{"answers":{"public_policy":true,"states_uses":true,"express_consent":true,"device_data":false,"end_access":true},"by":"Dana"},
	"software_id":"ignored-but-fine","x_unknown":{"ignored":true}}`

// TestMalformedRegistrations: every malformed registration is answered 400
// with the RFC 7591 code and a description saying what is wrong, and
// stores nothing.
func TestMalformedRegistrations(t *testing.T) {
	s := newServer(t, func(h *dcr.Handler) { h.RegisterLimit = oauth.Limit{Burst: 1000, Every: time.Millisecond} })
	redirect := func(uris string) string {
		return `{"client_name":"T","token_endpoint_auth_method":"none","redirect_uris":` + uris + `}`
	}
	meta := func(extra string) string {
		return `{"client_name":"T","redirect_uris":["https://t.example/cb"]` + extra + `}`
	}
	tests := []struct {
		name, body, code, says string
	}{
		{"no redirect_uris", `{"client_name":"T"}`, dcr.ErrInvalidRedirectURI, "redirect_uris is required"},
		{"empty redirect_uris", redirect(`[]`), dcr.ErrInvalidRedirectURI, "redirect_uris is required"},
		{"http redirect", redirect(`["http://t.example/cb"]`), dcr.ErrInvalidRedirectURI, "must use https"},
		{"wildcard", redirect(`["https://*.t.example/cb"]`), dcr.ErrInvalidRedirectURI, "wildcard"},
		{"fragment", redirect(`["https://t.example/cb#x"]`), dcr.ErrInvalidRedirectURI, "fragment"},
		{"javascript", redirect(`["javascript:alert(1)"]`), dcr.ErrInvalidRedirectURI, "forbidden scheme"},
		{"relative", redirect(`["/cb"]`), dcr.ErrInvalidRedirectURI, "absolute"},
		{"credentials", redirect(`["https://u:p@t.example/cb"]`), dcr.ErrInvalidRedirectURI, "credentials"},
		{"listed twice", redirect(`["https://t.example/cb","https://t.example/cb"]`), dcr.ErrInvalidRedirectURI, "listed twice"},
		{"redirect not strings", redirect(`[1]`), dcr.ErrInvalidClientMetadata, "redirect_uris has the wrong type"},
		{"not JSON", `client_name=T`, dcr.ErrInvalidClientMetadata, "one JSON object"},
		{"JSON array", `[]`, dcr.ErrInvalidClientMetadata, "one JSON object"},
		{"trailing data", meta(``) + `{}`, dcr.ErrInvalidClientMetadata, "after the JSON object"},
		{"no name", `{"redirect_uris":["https://t.example/cb"]}`, dcr.ErrInvalidClientMetadata, "client_name is required"},
		{"auth method", meta(`,"token_endpoint_auth_method":"client_secret_jwt"`), dcr.ErrInvalidClientMetadata, "token_endpoint_auth_method must be"},
		{"implicit grant", meta(`,"grant_types":["implicit"]`), dcr.ErrInvalidClientMetadata, "\"implicit\" is not offered"},
		{"no code grant", meta(`,"grant_types":["refresh_token"]`), dcr.ErrInvalidClientMetadata, "must include authorization_code"},
		{"token response", meta(`,"response_types":["token"]`), dcr.ErrInvalidClientMetadata, "\"token\" is not offered"},
		{"bad scope", meta(`,"scope":"patient/*.bogus"`), dcr.ErrInvalidClientMetadata, "scope"},
		{"http policy", meta(`,"policy_uri":"http://t.example/p"`), dcr.ErrInvalidClientMetadata, "privacy_policy_url"},
		{"http logo", meta(`,"logo_uri":"http://t.example/l.png"`), dcr.ErrInvalidClientMetadata, "logo_uri"},
		{"bad contact", meta(`,"contacts":["call me"]`), dcr.ErrInvalidClientMetadata, "contacts"},
		{"keys without method", meta(`,"jwks_uri":"https://t.example/jwks"`), dcr.ErrInvalidClientMetadata, "go with token_endpoint_auth_method private_key_jwt"},
		{"method without keys", meta(`,"token_endpoint_auth_method":"private_key_jwt"`), dcr.ErrInvalidClientMetadata, "needs jwks or jwks_uri"},
		{"private key in jwks", meta(`,"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`), dcr.ErrInvalidClientMetadata, "private key material"},
		{"public with keys", meta(`,"token_endpoint_auth_method":"none","jwks_uri":"https://t.example/jwks"`), dcr.ErrInvalidClientMetadata, "public app has no keys"},
		{"unknown question", meta(`,"privacy_attestation":{"answers":{"sells":true}}`), dcr.ErrInvalidClientMetadata, "unknown question"},
		{"name too long", `{"client_name":"` + strings.Repeat("n", 201) + `","redirect_uris":["https://t.example/cb"]}`, dcr.ErrInvalidClientMetadata, "longer than 200"},
		{"name wrong type", `{"client_name":7,"redirect_uris":["https://t.example/cb"]}`, dcr.ErrInvalidClientMetadata, "client_name has the wrong type"},
		{"several problems", `{"redirect_uris":["https://t.example/cb"],"grant_types":["password"],"scope":"user/*.*"}`, dcr.ErrInvalidClientMetadata, "client_name is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do("POST", dcr.Path, "", tc.body)
			code, desc := r.errorCode(t)
			if r.status != http.StatusBadRequest || code != tc.code || !strings.Contains(desc, tc.says) {
				t.Fatalf("%d %s %q, want 400 %s saying %q", r.status, code, desc, tc.code, tc.says)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Error("an error answer may be cached")
			}
			if list, _ := s.store.ListApps(context.Background()); len(list) != 0 {
				t.Fatalf("a refused registration stored %d apps", len(list))
			}
		})
	}
	big := `{"client_name":"` + strings.Repeat("x", 70<<10) + `"}`
	if r := s.do("POST", dcr.Path, "", big); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 70 KiB body: %d", r.status)
	}
	req, _ := http.NewRequest("POST", s.srv.URL+dcr.Path, strings.NewReader(goodMetadata))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a form body: %v %v", resp.StatusCode, err)
	}
}

// TestRegistrationLifecycle: a registration lands pending with its
// metadata, a registration access token (stored hashed) and a
// registration_client_uri; with the token the developer reads, updates
// and deletes it; without it (or with another app's) every call is 401.
func TestRegistrationLifecycle(t *testing.T) {
	s := newServer(t, nil)
	ctx := context.Background()
	r := s.do("POST", dcr.Path, "", goodMetadata)
	var got dcr.Response
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &got) != nil {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	if got.Status != apps.StatusPending || got.ClientID == "" || got.ClientSecret != "" || got.RegistrationAccessToken == "" ||
		got.RegistrationClientURI != s.srv.URL+dcr.Path+"/"+got.ClientID || got.TokenEndpointAuthMethod != "none" ||
		got.ClientName != "Tracker" || got.PrivacyAttestation == nil || got.PrivacyAttestation.Answer(apps.QuestionDevice) != "no" {
		t.Fatalf("registration answer %s", r.body)
	}
	app, err := s.store.GetApp(ctx, got.ClientID)
	if err != nil || app.Status != apps.StatusPending || app.ContactEmail != "security@tracker.example" || app.ContactPhone != "+1 555 010 0100" ||
		app.Developer != "Tracker Inc." || !apps.SecretMatches(app.RegistrationTokenHash, got.RegistrationAccessToken) ||
		bytes.Contains(mustJSON(t, app), []byte(got.RegistrationAccessToken)) || app.RegisteredBy.Kind != apps.ActorDeveloper {
		t.Fatalf("stored app %+v (%v)", app, err)
	}
	if c, err := s.store.GetChecks(ctx, got.ClientID); err != nil || !c.Passed() {
		t.Fatalf("checks at registration: %+v %v", c, err)
	}
	path := dcr.Path + "/" + got.ClientID
	tok := got.RegistrationAccessToken

	other := s.do("POST", dcr.Path, "", `{"client_name":"Other","redirect_uris":["https://other.example/cb"]}`)
	var o dcr.Response
	_ = json.Unmarshal(other.body, &o)
	if other.status != http.StatusCreated || o.ClientSecret == "" || o.ClientSecretExpiresAt == nil || *o.ClientSecretExpiresAt != 0 {
		t.Fatalf("confidential registration: %s", other.body)
	}
	for name, token := range map[string]string{"none": "", "wrong": tok + "x", "another app's": o.RegistrationAccessToken} {
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			r := s.do(m, path, token, `{}`)
			if code, _ := r.errorCode(t); r.status != http.StatusUnauthorized || code != "invalid_token" || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("%s with %s token: %d %s", m, name, r.status, r.body)
			}
		}
	}
	if r := s.do("GET", dcr.Path+"/nope", tok, ""); r.status != http.StatusUnauthorized {
		t.Errorf("read an unknown client: %d", r.status)
	}

	r = s.do("GET", path, tok, "")
	var read dcr.Response
	if r.status != http.StatusOK || json.Unmarshal(r.body, &read) != nil || read.ClientID != got.ClientID || read.RegistrationAccessToken != "" || read.Scope != "launch/patient openid patient/*.rs" {
		t.Fatalf("read: %d %s", r.status, r.body)
	}

	// Approve, then change the redirect URI: back to review.
	if _, err := s.reg.Decide(ctx, got.ClientID, apps.DecisionRequest{Action: apps.ActionApprove, Actor: apps.TokenActor}); err != nil {
		t.Fatal(err)
	}
	update := strings.Replace(goodMetadata, `{"client_name":"Tracker"`, `{"client_id":"`+got.ClientID+`","client_name":"Tracker 2"`, 1)
	update = strings.Replace(update, "https://tracker.example/cb", "https://tracker.example/cb2", 1)
	for name, c := range map[string]struct{ body, says string }{
		"no client_id":   {goodMetadata, "client_id must be sent"},
		"server-managed": {strings.Replace(update, `"client_name"`, `"registration_access_token":"x","client_name"`, 1), "registration_access_token is the server's"},
		"wrong secret":   {strings.Replace(update, `"client_name"`, `"client_secret":"guess","client_name"`, 1), "client_secret"},
		"bad redirect":   {strings.Replace(update, "https://tracker.example/cb2", "http://tracker.example/cb2", 1), "must use https"},
		"change of type": {strings.Replace(update, `"token_endpoint_auth_method":"none"`, `"token_endpoint_auth_method":"client_secret_basic"`, 1), "client type cannot change"},
	} {
		r := s.do("PUT", path, tok, c.body)
		if _, desc := r.errorCode(t); r.status != http.StatusBadRequest || !strings.Contains(desc, c.says) {
			t.Errorf("update %s: %d %s", name, r.status, r.body)
		}
	}
	if a, _ := s.store.GetApp(ctx, got.ClientID); a.Status != apps.StatusApproved || a.Name != "Tracker" {
		t.Fatalf("a refused update changed the app: %+v", a)
	}
	r = s.do("PUT", path, tok, update)
	var upd dcr.Response
	if r.status != http.StatusOK || json.Unmarshal(r.body, &upd) != nil || upd.ClientName != "Tracker 2" || upd.Status != apps.StatusPending {
		t.Fatalf("update: %d %s", r.status, r.body)
	}

	if r := s.do("DELETE", path, tok, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if a, _ := s.store.GetApp(ctx, got.ClientID); a.Status != apps.StatusDeleted || a.Approved() {
		t.Fatalf("after delete: %+v", a)
	}
	if r := s.do("GET", path, tok, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("read after delete: %d", r.status)
	}
	h, _ := s.store.ListHistory(ctx, got.ClientID)
	var steps []string
	for _, e := range h {
		steps = append(steps, string(e.Action)+" by "+e.Actor.String())
	}
	want := "register by developer:dcr:dcr,approve by token:admin-token,update by developer:dcr:" + got.ClientID + ",delete by developer:dcr:" + got.ClientID
	if strings.Join(steps, ",") != want {
		t.Fatalf("history %v\nwant %s", steps, want)
	}
}

// TestThrottle: registrations are counted per client address, failed
// registration tokens per client id; over the limit the answer is 429
// with Retry-After, and nothing is stored.
func TestThrottle(t *testing.T) {
	s := newServer(t, func(h *dcr.Handler) {
		h.RegisterLimit = oauth.Limit{Burst: 2, Every: time.Hour}
		h.TokenLimit = oauth.Limit{Burst: 2, Every: time.Hour}
	})
	for i := range 2 {
		if r := s.do("POST", dcr.Path, "", goodMetadata); r.status != http.StatusCreated {
			t.Fatalf("registration %d: %d", i, r.status)
		}
	}
	r := s.do("POST", dcr.Path, "", goodMetadata)
	if code, _ := r.errorCode(t); r.status != http.StatusTooManyRequests || code != "temporarily_unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("third registration: %d %s %v", r.status, r.body, r.header)
	}
	if list, _ := s.store.ListApps(context.Background()); len(list) != 2 {
		t.Fatalf("%d apps stored, want 2", len(list))
	}
	list, _ := s.store.ListApps(context.Background())
	path := dcr.Path + "/" + list[0].ClientID
	for range 2 {
		if r := s.do("GET", path, "guess", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("a wrong token: %d", r.status)
		}
	}
	if r := s.do("GET", path, "guess", ""); r.status != http.StatusTooManyRequests {
		t.Fatalf("after two wrong tokens: %d", r.status)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
