package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway/internal/nodetest"
)

// memberApp is a third-party app for the browser walk: a Go server whose
// callback exchanges the code and reads the member's data, and whose
// /call page reads again with the token it kept.
type memberApp struct {
	t    *testing.T
	h    *harness
	srv  *httptest.Server
	conf *oauth2.Config

	mu       sync.Mutex
	verifier string
	state    string
	token    *oauth2.Token
}

func newMemberApp(t *testing.T, h *harness) *memberApp {
	a := &memberApp{t: t, h: h}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", a.serveCallback)
	mux.HandleFunc("GET /call", a.serveCall)
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	var logo bytes.Buffer
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for i := range 64 * 64 {
		img.SetNRGBA(i%64, i/64, color.NRGBA{0x5b, 0x2a, 0x86, 0xff})
	}
	_ = png.Encode(&logo, img)
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if code := h.admin("POST", "/admin/apps", map[string]any{
		"name": "Pillbox Health Diary", "developer": "Pillbox Labs (fictional)", "redirect_uris": []string{a.srv.URL + "/callback"},
		"public": true, "privacy_policy_url": "https://pillbox.example/privacy", "terms_url": "https://pillbox.example/terms",
		"website_url": "https://pillbox.example/", "attestation": "attested", "logo": logo.Bytes(),
	}, &reg); code != http.StatusCreated {
		t.Fatalf("register the app: %d", code)
	}
	h.admin("POST", "/admin/apps/"+reg.ClientID+"/approve", testApproval, nil)
	a.conf = &oauth2.Config{ClientID: reg.ClientID, RedirectURL: a.srv.URL + "/callback",
		Scopes:   []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs"},
		Endpoint: oauth2.Endpoint{AuthURL: h.endpoint("authorization_endpoint"), TokenURL: h.endpoint("token_endpoint"), AuthStyle: oauth2.AuthStyleInParams}}
	return a
}

// launchURL starts a new launch (PKCE S256, aud) and returns its URL.
func (a *memberApp) launchURL() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.verifier, a.state, a.token = oauth2.GenerateVerifier(), oauth2.GenerateVerifier()[:16], nil
	return a.conf.AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.verifier), oauth2.SetAuthURLParam("aud", a.h.fhir))
}

func (a *memberApp) serveCallback(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]any{}
	if r.URL.Query().Get("state") != a.state {
		out["error"] = "state mismatch"
	} else if tok, err := a.conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(a.verifier)); err != nil {
		out["error"] = err.Error()
	} else {
		a.token = tok
		patient, _ := tok.Extra("patient").(string)
		out["scope"], out["patient"] = tok.Extra("scope"), patient
		out["calls"] = map[string]int{
			"Patient":              a.call("/Patient/" + patient),
			"Coverage":             a.call("/Coverage"),
			"ExplanationOfBenefit": a.call("/ExplanationOfBenefit"),
		}
	}
	writeResult(w, out)
}

func (a *memberApp) serveCall(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token == nil {
		writeResult(w, map[string]any{"error": "no token"})
		return
	}
	writeResult(w, map[string]any{"status": a.call("/Coverage")})
}

func (a *memberApp) call(path string) int {
	req, _ := http.NewRequest(http.MethodGet, a.h.fhir+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.token.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func writeResult(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Pillbox</title><pre id="result">%s</pre></html>`, html.EscapeString(string(b)))
}

// memberReport is what js/member-pages.mjs saw.
type memberReport struct {
	Pages map[string]struct {
		Path, Lang, Title string
		Violations        []struct {
			Width, ID, Impact, Help string
			Nodes                   []string
		}
	}
	Offered  []string
	SkipLink string
	Unticked bool
	App      struct {
		Scope, Patient, Error string
		Calls                 map[string]int
	}
	Listed       []string
	History      [][]string
	RevokeButton string
	AfterRevoke  struct {
		Notice string
		Listed int
	}
	AppAfterRevoke struct{ Status int }
	External       []string
}

// TestMemberPagesInChromium walks a member, in English and in Spanish,
// signing in, consenting and revoking with the keyboard alone, through
// consent with claims unticked (the token's scope then holds no
// claims), the connected apps page, the access history after the app's
// calls, and revocation, after which the app's next call gets 401. Every
// page passes axe-core's WCAG 2.1 A and AA rules with no serious or
// critical violation, at desktop and phone widths, and loads nothing from
// another origin. With GATEWAY_UPDATE_SCREENSHOTS=1 it refreshes the
// screenshots under docs/.
func TestMemberPagesInChromium(t *testing.T) {
	chrome := chromiumPath(t)
	nodetest.Require(t)
	h := newHarness(t, memoryStore)
	app := newMemberApp(t, h)
	shots := ""
	if os.Getenv("GATEWAY_UPDATE_SCREENSHOTS") != "" {
		shots, _ = filepath.Abs("../docs/screenshots")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	words := map[string]struct{ basics, coverage, notice string }{
		"en": {"your basic details", "coverage", "Access for Pillbox Health Diary has ended"},
		"es": {"sus datos básicos", "cobertura", "El acceso de Pillbox Health Diary terminó"},
	}
	for lang, member := range map[string]string{"en": "alice", "es": "bob"} {
		t.Run(lang, func(t *testing.T) {
			env := []string{"CHROMIUM=" + chrome, "BASE=" + h.base, "LAUNCH_URL=" + app.launchURL(), "APP_CALL_URL=" + app.srv.URL + "/call",
				"MEMBER=" + member, "PASSWORD=" + demoPassword, "LANG_UNDER_TEST=" + lang, "UNTICK=claims", "SCREENSHOT_DIR=" + shots}
			out := nodetest.Run(t, 120*time.Second, "member-pages.mjs", env)
			var rep memberReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("the script's answer is not JSON: %v\n%s", err, out)
			}
			checkWalk(t, rep, words[lang].basics, words[lang].coverage, words[lang].notice)
			checkPages(t, rep, lang)
		})
	}
}

// checkWalk checks what the member and the app saw on the way.
func checkWalk(t *testing.T, rep memberReport, basics, coverage, notice string) {
	t.Helper()
	if rep.App.Error != "" || strings.Contains(rep.App.Scope, "ExplanationOfBenefit") || strings.Contains(rep.App.Scope, "*") ||
		!strings.Contains(rep.App.Scope, "patient/Coverage.rs") || !strings.Contains(rep.App.Scope, "patient/Patient.rs") {
		t.Fatalf("with claims unticked the token's scope is %q (%s)", rep.App.Scope, rep.App.Error)
	}
	if c := rep.App.Calls; c["Patient"] != 200 || c["Coverage"] != 200 || c["ExplanationOfBenefit"] != 403 {
		t.Fatalf("the app's calls: %v, want the claims search refused", c)
	}
	if rep.SkipLink != "#main" || !rep.Unticked {
		t.Fatalf("keyboard: the first Tab reached %q, Space unticked the category: %v", rep.SkipLink, rep.Unticked)
	}
	if !strings.Contains(strings.Join(rep.Offered, " "), "claims") || len(rep.Listed) != 1 || rep.Listed[0] != "Pillbox Health Diary" {
		t.Fatalf("offered %v, listed %v", rep.Offered, rep.Listed)
	}
	if len(rep.History) != 2 || rep.History[0][1] != coverage || rep.History[1][1] != basics ||
		rep.History[0][2] != "1" || rep.History[0][3] != "127.0.0.1" {
		t.Fatalf("access history rows %q, want the Coverage search then the Patient read, from 127.0.0.1", rep.History)
	}
	if !strings.Contains(rep.RevokeButton, "Pillbox Health Diary") || !strings.Contains(rep.AfterRevoke.Notice, notice) || rep.AfterRevoke.Listed != 0 {
		t.Fatalf("revoke button %q, then %+v", rep.RevokeButton, rep.AfterRevoke)
	}
	if rep.AppAfterRevoke.Status != http.StatusUnauthorized {
		t.Fatalf("the app's call after the member revoked: %d, want 401", rep.AppAfterRevoke.Status)
	}
}

// checkPages checks every page's language, axe result and origins.
func checkPages(t *testing.T, rep memberReport, lang string) {
	t.Helper()
	for _, name := range []string{"login", "consent", "apps", "history", "revoke", "not-found"} {
		p, ok := rep.Pages[name]
		if !ok {
			t.Errorf("the %s page was not checked", name)
			continue
		}
		if p.Lang != lang {
			t.Errorf("%s page (%s) is in %q, want %q", name, p.Path, p.Lang, lang)
		}
		for _, v := range p.Violations {
			msg := fmt.Sprintf("%s page, %s: axe %s (%s): %s at %v", name, v.Width, v.ID, v.Impact, v.Help, v.Nodes)
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
	}
	if len(rep.External) > 0 {
		t.Errorf("pages loaded from other origins: %v", rep.External)
	}
}
