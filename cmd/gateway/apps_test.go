package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	pngpkg "image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/admin"
	"github.com/patientaccess/gateway/gateway/store/memory"
)

const adminToken = "cli-test-token"

// newAdminServer serves the real admin API over a memory store.
func newAdminServer(t *testing.T) (*httptest.Server, apps.Store) {
	t.Helper()
	store := memory.New(nil)
	h := &admin.Handler{Registry: &apps.Registry{Store: store}, Store: store, Token: adminToken}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, store
}

type result struct {
	code           int
	stdout, stderr string
}

func runAppsWith(env map[string]string, args ...string) result {
	var out, errOut bytes.Buffer
	code := runApps(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// fieldAfter returns the value printed after "label:" in plain output.
func fieldAfter(out, label string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, label+":"); ok {
			return strings.Fields(v)[0]
		}
	}
	return ""
}

func TestAppsLifecycle(t *testing.T) {
	srv, store := newAdminServer(t)
	env := map[string]string{"GATEWAY_URL": srv.URL, "GATEWAY_ADMIN_TOKEN": adminToken}
	ctx := context.Background()

	r := runAppsWith(env, "register", "--name", "Health Wallet", "--redirect-uri", "https://w.example/cb",
		"--redirect-uri", "https://w.example/cb2", "--developer", "Wallet Inc.", "--contact-email", "security@w.example",
		"--attest", "public_policy=yes", "--attest", "states_uses=no", "--attested-by", "Dana at Wallet")
	if r.code != 0 {
		t.Fatalf("register: %+v", r)
	}
	id, secret := fieldAfter(r.stdout, "client_id"), fieldAfter(r.stdout, "client_secret")
	a, err := store.GetApp(ctx, id)
	if err != nil || !apps.SecretMatches(a.SecretHash, secret) || len(a.RedirectURIs) != 2 || a.Developer != "Wallet Inc." {
		t.Fatalf("stored app %+v (%v) does not match the output %q", a, err, r.stdout)
	}
	if a.Attestation.Answer(apps.QuestionPolicy) != "yes" || a.Attestation.Answer(apps.QuestionUses) != "no" ||
		a.Attestation.Answer(apps.QuestionConsent) != "" || a.Attestation.By != "Dana at Wallet" {
		t.Errorf("stored attestation %+v", a.Attestation)
	}
	if !strings.Contains(r.stdout, "shown only once") {
		t.Errorf("no warning that the secret is shown once: %q", r.stdout)
	}

	steps := []struct {
		args   []string
		status apps.Status
		reason string
	}{
		{[]string{"approve", id}, apps.StatusApproved, ""},
		{[]string{"suspend", id, "--criterion", "reported-compromise", "--evidence", "breach"}, apps.StatusSuspended, "breach"},
		{[]string{"reinstate", "--note", "fixed", "--server", srv.URL, id}, apps.StatusApproved, "fixed"},
	}
	for _, s := range steps {
		r := runAppsWith(env, s.args...)
		a, _ := store.GetApp(ctx, id)
		if r.code != 0 || a.Status != s.status || a.StatusReason != s.reason || !strings.Contains(r.stdout, string(s.status)) {
			t.Errorf("%v: %+v; stored %s %q", s.args, r, a.Status, a.StatusReason)
		}
	}

	r = runAppsWith(env, "show", id)
	for _, want := range []string{"Health Wallet", "security@w.example", "declined by Dana at Wallet", "public_policy:", "not answered",
		"members with live grants:  0", "last API call:", "contact-details", "suspend", "reported-compromise", "token:admin-token", "approved→suspended"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("show does not say %q: %+v", want, r)
		}
	}
	r = runAppsWith(env, "audit")
	if r.code != 0 || !strings.Contains(r.stdout, "decisions under criteria version "+apps.CriteriaVersion+": 3") || strings.Count(r.stdout, id) != 3 {
		t.Errorf("audit: %+v", r)
	}
	r = runAppsWith(env, "checks", id)
	if r.code != 0 || strings.Count(r.stdout, " pass") < 5 || strings.Contains(r.stdout, " fail") {
		t.Errorf("checks: %+v", r)
	}
	r = runAppsWith(env, "criteria")
	for _, c := range apps.Criteria() {
		if !strings.Contains(r.stdout, c.ID) {
			t.Errorf("criteria misses %s: %+v", c.ID, r)
		}
	}

	r = runAppsWith(env, "register", "--json", "--public", "--name", "Pocket", "--redirect-uri", "http://127.0.0.1:9/cb",
		"--scope", "openid patient/Patient.rs")
	var resp admin.RegisterResponse
	if err := json.Unmarshal([]byte(r.stdout), &resp); r.code != 0 || err != nil {
		t.Fatalf("register --json: %+v (%v)", r, err)
	}
	if resp.ClientSecret != "" || !resp.App.Public || strings.Join(resp.App.Scopes, " ") != "openid patient/Patient.rs" {
		t.Errorf("public registration answered %+v", resp)
	}

	r = runAppsWith(env, "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "CLIENT_ID NAME STATUS AUTH ATTESTATION" {
		t.Fatalf("list: %+v", r)
	}
	if !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, resp.ClientID) || !strings.Contains(r.stdout, "Health Wallet") {
		t.Errorf("list misses an app: %q", r.stdout)
	}
	r = runAppsWith(env, "list", "--json")
	var listed struct{ Apps []admin.AppView }
	if err := json.Unmarshal([]byte(r.stdout), &listed); r.code != 0 || err != nil || len(listed.Apps) != 2 {
		t.Errorf("list --json: %+v (%v)", r, err)
	}
	if strings.Contains(r.stdout, "secret_hash") || strings.Contains(r.stdout, `"client_secret"`) {
		t.Errorf("list --json shows a secret field: %s", r.stdout)
	}
}

func TestAppsErrors(t *testing.T) {
	srv, _ := newAdminServer(t)
	env := map[string]string{"GATEWAY_URL": srv.URL, "GATEWAY_ADMIN_TOKEN": adminToken}
	noToken := map[string]string{"GATEWAY_URL": srv.URL}
	badToken := map[string]string{"GATEWAY_URL": srv.URL, "GATEWAY_ADMIN_TOKEN": "wrong"}
	nowhere := map[string]string{"GATEWAY_URL": "http://127.0.0.1:1", "GATEWAY_ADMIN_TOKEN": adminToken}
	reg := []string{"register", "--name", "A", "--redirect-uri", "https://a.example/cb"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string // in stderr
	}{
		{"no subcommand", env, nil, 2, "usage"},
		{"unknown subcommand", env, []string{"delete"}, 2, "unknown command"},
		{"unknown flag", env, []string{"list", "--all"}, 2, "flag provided but not defined"},
		{"help", env, []string{"approve", "-h"}, 0, "usage"},
		{"register without name", env, []string{"register", "--redirect-uri", "https://a.example/cb"}, 2, "--name"},
		{"register without redirect", env, []string{"register", "--name", "A"}, 2, "--redirect-uri"},
		{"register extra argument", env, append(reg, "extra"), 2, "unexpected argument"},
		{"approve without id", env, []string{"approve"}, 2, "CLIENT_ID is required"},
		{"approve two ids", env, []string{"approve", "a", "b"}, 2, "unexpected argument"},
		{"reason without value", env, []string{"deny", "some-id", "--reason"}, 2, "flag needs an argument"},
		{"client id starting with a dash", env, []string{"approve", "-AbC"}, 1, "no app has that client id"},
		{"client id after --", env, []string{"suspend", "--criterion", "abusive-traffic", "--reason", "r", "--", "-AbC"}, 1, "no app has that client id"},
		{"missing token", noToken, reg, 2, "GATEWAY_ADMIN_TOKEN"},
		{"missing token on list", noToken, []string{"list"}, 2, "GATEWAY_ADMIN_TOKEN"},
		{"wrong token", badToken, []string{"list"}, 1, "token is wrong"},
		{"invalid registration", env, []string{"register", "--name", "A", "--redirect-uri", "http://a.example/cb"}, 1, "must use https"},
		{"bad scope", env, append(reg, "--scope", "patient/*.bogus"), 1, "scope"},
		{"deny without criterion", env, []string{"deny", "some-id", "--evidence", "e"}, 1, "cite at least one criterion"},
		{"deny without evidence", env, []string{"deny", "some-id", "--criterion", "impersonation"}, 1, "give the evidence"},
		{"bad attest answer", env, append(reg, "--attest", "public_policy=maybe"), 2, "QUESTION=yes"},
		{"unknown attest question", env, append(reg, "--attest", "sells=yes"), 1, "unknown question"},
		{"show without id", env, []string{"show"}, 2, "CLIENT_ID is required"},
		{"show unknown app", env, []string{"show", "some-id"}, 1, "no app has that client id"},
		{"unknown app", env, []string{"approve", "some-id"}, 1, "no app has that client id"},
		{"server unreachable", nowhere, []string{"list"}, 1, "admin API"},
		{"--server beats GATEWAY_URL", nowhere, []string{"list", "--server", srv.URL}, 0, ""},
		{"--token beats the environment", badToken, []string{"list", "--token", adminToken}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runAppsWith(tt.env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d stderr %q, want %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
		})
	}
}

// TestAppsRegisterMemberFacingDetails: the CLI registers the website, the
// logo (a PNG file) and the revocation webhook members' pages and notices
// use.
func TestAppsRegisterMemberFacingDetails(t *testing.T) {
	srv, store := newAdminServer(t)
	env := map[string]string{"GATEWAY_URL": srv.URL, "GATEWAY_ADMIN_TOKEN": adminToken}
	var png bytes.Buffer
	if err := pngpkg.Encode(&png, image.NewRGBA(image.Rect(0, 0, 32, 32))); err != nil {
		t.Fatal(err)
	}
	logo := filepath.Join(t.TempDir(), "logo.png")
	if err := os.WriteFile(logo, png.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runAppsWith(env, "register", "--name", "Wallet", "--redirect-uri", "https://w.example/cb", "--public",
		"--website-url", "https://w.example/", "--webhook-url", "https://w.example/revoked", "--logo-file", logo)
	if r.code != 0 {
		t.Fatalf("register: %+v", r)
	}
	a, err := store.GetApp(context.Background(), fieldAfter(r.stdout, "client_id"))
	if err != nil || a.WebsiteURL != "https://w.example/" || a.WebhookURL != "https://w.example/revoked" || !a.HasLogo {
		t.Fatalf("stored app %+v, %v", a, err)
	}
	if got, err := store.GetAppLogo(context.Background(), a.ClientID); err != nil || !bytes.Equal(got, png.Bytes()) {
		t.Fatalf("stored logo: %v", err)
	}
	if r := runAppsWith(env, "register", "--name", "W", "--redirect-uri", "https://w.example/cb", "--logo-file", "/no/such.png"); r.code != 2 {
		t.Fatalf("a missing logo file: %+v", r)
	}
}
