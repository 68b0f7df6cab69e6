package gateway_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/internal/nodetest"
)

// registerClient registers an app through the admin API with the given
// redirect URI and extra registration fields, approves it, and returns its
// client id and secret (empty for public and private_key_jwt apps).
func (h *harness) registerClient(redirect string, fields map[string]any) (id, secret string) {
	h.t.Helper()
	body := map[string]any{
		"name": "Real Client", "developer": "Test Co", "redirect_uris": []string{redirect},
		"privacy_policy_url": "https://app.example.test/privacy",
	}
	maps.Copy(body, fields)
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Description  string `json:"error_description"`
	}
	if code := h.admin("POST", "/admin/apps", body, &reg); code != http.StatusCreated {
		h.t.Fatalf("register app: %d %s", code, reg.Description)
	}
	if code := h.admin("POST", "/admin/apps/"+reg.ClientID+"/approve", map[string]string{}, nil); code != 200 {
		h.t.Fatalf("approve app: %d", code)
	}
	return reg.ClientID, reg.ClientSecret
}

// auditEvents returns the audit events of one app, oldest first.
func (h *harness) auditEvents(clientID string) []apps.Event {
	h.t.Helper()
	var out struct {
		Events []apps.Event `json:"events"`
	}
	if code := h.admin("GET", "/admin/audit?limit=1000", nil, &out); code != 200 {
		h.t.Fatalf("audit: %d", code)
	}
	var mine []apps.Event
	for _, e := range slices.Backward(out.Events) {
		if e.ClientID == clientID {
			mine = append(mine, e)
		}
	}
	return mine
}

// smartAppServer serves the test SMART app (nodetest's js/smart-app) and the
// SMART JavaScript client exactly as npm installed it, on an origin of
// their own, as a real browser app is.
func smartAppServer(t *testing.T) *httptest.Server {
	t.Helper()
	nodetest.Require(t)
	dir := nodetest.Dir()
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(filepath.Join(dir, "js", "smart-app"))))
	mux.HandleFunc("/fhir-client.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(dir, "node_modules", "fhirclient", "build", "fhir-client.js"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// fhirclientResult is what the test SMART app reports on its page.
type fhirclientResult struct {
	Error               string         `json:"error"`
	PatientID           string         `json:"patientId"`
	Scope               string         `json:"scope"`
	Patient             resourceReport `json:"patient"`
	EOBs                resourceReport `json:"eobs"`
	Refreshed           bool           `json:"refreshed"`
	ScopeAfterRefresh   string         `json:"scopeAfterRefresh"`
	PatientAfterRefresh resourceReport `json:"patientAfterRefresh"`
	Visited             []string       `json:"visited"`
}

type resourceReport struct {
	ResourceType string   `json:"resourceType"`
	ID           string   `json:"id"`
	Entries      []string `json:"entries"`
}

// TestFHIRClientInChromium: the SMART JavaScript client (fhirclient from
// npm, unmodified) in headless Chromium does a standalone launch as a
// public app: the member signs in and allows on the gateway's pages, the
// app reads the Patient and an ExplanationOfBenefit search, refreshes its
// token (fhirclient sends no client_id on refresh) and reads again.
func TestFHIRClientInChromium(t *testing.T) {
	chrome := chromiumPath(t)
	app := smartAppServer(t)
	h := newHarness(t, memoryStore)
	clientID, _ := h.registerClient(app.URL+"/app.html", map[string]any{"public": true})
	launch := app.URL + "/launch.html?" + url.Values{"server": {h.fhir}, "client": {clientID},
		"scope": {"launch/patient openid fhirUser offline_access patient/*.read"}}.Encode()

	out := nodetest.Run(t, 90*time.Second, "fhirclient-chromium.mjs",
		[]string{"CHROMIUM=" + chrome, "LAUNCH_URL=" + launch, "MEMBER=alice", "PASSWORD=" + demoPassword})
	var res fhirclientResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("the script's answer is not JSON: %v\n%s", err, out)
	}
	if res.Error != "" {
		t.Fatalf("the app failed: %s (pages: %v)", res.Error, res.Visited)
	}
	alice := h.patient["alice"]
	if want := []string{"/login", "/oauth/authorize", "/app.html"}; !slices.Equal(res.Visited, want) {
		t.Errorf("pages passed = %v, want %v", res.Visited, want)
	}
	if res.PatientID != alice || res.Patient.ResourceType != "Patient" || res.Patient.ID != alice {
		t.Errorf("launch context and Patient read: %q %+v, want %s", res.PatientID, res.Patient, alice)
	}
	if len(res.EOBs.Entries) != 7 {
		t.Errorf("ExplanationOfBenefit search found %v, want alice's 7 claims", res.EOBs.Entries)
	}
	for _, e := range res.EOBs.Entries {
		if !strings.HasPrefix(e, "ExplanationOfBenefit/") {
			t.Errorf("search entry %s", e)
		}
	}
	if !res.Refreshed || !strings.Contains(res.ScopeAfterRefresh, "offline_access") || res.PatientAfterRefresh.ID != alice {
		t.Errorf("after refresh: rotated=%v scope=%q Patient=%+v", res.Refreshed, res.ScopeAfterRefresh, res.PatientAfterRefresh)
	}
	var grants []string
	for _, e := range h.auditEvents(clientID) {
		if e.Action == "token" && e.Outcome == "success" {
			grants = append(grants, e.Reason)
		}
	}
	if want := []string{"authorization_code", "refresh_token"}; !slices.Equal(grants, want) {
		t.Errorf("the gateway issued tokens for %v, want %v", grants, want)
	}
}
