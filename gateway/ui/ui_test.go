package ui

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newUI(t *testing.T, cfg Config) *UI {
	t.Helper()
	if cfg.Brand.PlanName == "" {
		cfg.Brand.PlanName = "Riverbend Health"
	}
	u, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return u
}

// get renders one page through fn for a request with the given headers.
func get(fn func(w http.ResponseWriter, r *http.Request), lang string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/account/apps", nil)
	if lang != "" {
		r.Header.Set("Accept-Language", lang)
	}
	w := httptest.NewRecorder()
	fn(w, r)
	return w
}

// TestConsentAlwaysWarns: in every language and for every attestation, the
// consent page carries the HIPAA warning and the attestation, and an app
// that did not attest gets the second, stronger warning.
func TestConsentAlwaysWarns(t *testing.T) {
	u := newUI(t, Config{})
	for _, lang := range []string{"en", "es"} {
		for _, att := range []string{"attested", "declined", "none"} {
			v := ConsentView{App: ConsentApp{Name: "Tracker", Attestation: att}, Categories: []ConsentCategory{{ID: "claims"}}, Ends: time.Now()}
			w := get(func(w http.ResponseWriter, r *http.Request) { u.Consent(w, r, v) }, lang)
			body := w.Body.String()
			if w.Code != 200 || !strings.Contains(body, `id="hipaa-warning"`) || !strings.Contains(body, `id="attestation"`) || !strings.Contains(body, "HIPAA") {
				t.Fatalf("%s/%s: consent page without its warning: %d\n%s", lang, att, w.Code, body)
			}
			if strong := strings.Contains(body, `class="danger" id="attestation"`); strong != (att != "attested") {
				t.Errorf("%s/%s: stronger warning shown = %v", lang, att, strong)
			}
			if !strings.Contains(body, `<html lang="`+lang+`">`) || w.Header().Get("Content-Language") != lang {
				t.Errorf("%s/%s: page not marked as %s", lang, att, lang)
			}
		}
	}
}

// TestClaimsSayWhatTheyReveal: the claims category tells the member, in
// both languages, that claims show diagnoses, medicines, doctors, visits
// and costs.
func TestClaimsSayWhatTheyReveal(t *testing.T) {
	u := newUI(t, Config{})
	want := map[string][]string{"en": {"diagnoses", "medicines", "doctors", "visits", "costs"}, "es": {"diagnósticos", "medicamentos", "médicos", "consultas", "costos"}}
	for lang, words := range want {
		v := ConsentView{App: ConsentApp{Name: "Tracker", Attestation: "attested"}, Categories: []ConsentCategory{{ID: "claims"}}}
		body := get(func(w http.ResponseWriter, r *http.Request) { u.Consent(w, r, v) }, lang).Body.String()
		for _, word := range words {
			if !strings.Contains(body, word) {
				t.Errorf("%s: the claims category does not say %q", lang, word)
			}
		}
	}
}

func TestNegotiate(t *testing.T) {
	u := newUI(t, Config{})
	tests := []struct {
		accept, cookie, want string
	}{
		{"", "", "en"},
		{"es", "", "es"},
		{"es-MX,es;q=0.9,en;q=0.8", "", "es"},
		{"fr-CA,fr;q=0.9", "", "en"},
		{"en;q=0.5,es;q=0.7", "", "es"},
		{"fr,es;q=0.2", "", "es"},
		{"es", "en", "en"},
		{"en", "es", "es"},
		{"es", "xx", "es"},
		{"es;q=abc", "", "es"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Language", tt.accept)
		if tt.cookie != "" {
			r.AddCookie(&http.Cookie{Name: langCookie, Value: tt.cookie})
		}
		if got := u.Lang(r); got != tt.want {
			t.Errorf("Accept-Language %q, cookie %q: %s, want %s", tt.accept, tt.cookie, got, tt.want)
		}
	}
}

// TestLanguageSwitch: the visible switch links every language, sets a
// session cookie (no expiry) and goes back only to a local path.
func TestLanguageSwitch(t *testing.T) {
	u := newUI(t, Config{})
	mux := http.NewServeMux()
	u.Mount(mux)
	page := get(func(w http.ResponseWriter, r *http.Request) { u.ConnectedApps(w, r, AppsView{}) }, "en").Body.String()
	if !strings.Contains(page, `href="/ui/lang?return_to=%2Faccount%2Fapps&amp;to=es" lang="es" hreflang="es">Español</a>`) {
		t.Fatalf("no switch to Spanish on the page:\n%s", page)
	}
	tests := []struct{ query, wantLoc, wantCookie string }{
		{"to=es&return_to=/account/apps", "/account/apps", "es"},
		{"to=es&return_to=/oauth/authorize?client_id=a%26scope=x", "/oauth/authorize?client_id=a&scope=x", "es"},
		{"to=es&return_to=https://evil.example/", "/account/apps", "es"},
		{"to=es&return_to=//evil.example/", "/account/apps", "es"},
		{"to=es&return_to=/\\evil.example", "/account/apps", "es"},
		{"to=xx&return_to=/guide", "/guide", ""},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, PathLang+"?"+tt.query, nil))
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != tt.wantLoc {
			t.Errorf("%s: %d to %q, want %q", tt.query, w.Code, w.Header().Get("Location"), tt.wantLoc)
		}
		set := w.Header().Get("Set-Cookie")
		if tt.wantCookie == "" && set != "" || tt.wantCookie != "" && (!strings.HasPrefix(set, langCookie+"="+tt.wantCookie+";") ||
			strings.Contains(set, "Max-Age") || strings.Contains(set, "Expires") || !strings.Contains(set, "HttpOnly")) {
			t.Errorf("%s: Set-Cookie %q, want a session cookie for %q", tt.query, set, tt.wantCookie)
		}
	}
}

// TestPlanAddsALanguage: a catalog file in the locales directory adds a
// language without code; one that lacks messages or changes placeholders
// stops start-up, naming them.
func TestPlanAddsALanguage(t *testing.T) {
	en, err := os.ReadFile("locales/en.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fr := strings.Replace(string(en), `"language.name": "English"`, `"language.name": "Français"`, 1)
	fr = strings.Replace(fr, `"login.title": "Sign in"`, `"login.title": "Se connecter"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "fr.json"), []byte(fr), 0o600); err != nil {
		t.Fatal(err)
	}
	u := newUI(t, Config{LocalesDir: dir})
	w := get(func(w http.ResponseWriter, r *http.Request) { u.Login(w, r, 200, LoginView{Local: true}) }, "fr")
	if !strings.Contains(w.Body.String(), "Se connecter") || !strings.Contains(w.Body.String(), "Français") {
		t.Fatalf("the French catalog is not used:\n%s", w.Body)
	}

	broken := strings.Replace(fr, `"login.username": "Username",`, "", 1)
	broken = strings.Replace(broken, `"consent.title": "{app} wants to get your health plan records"`, `"consent.title": "{appli} veut vos données"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "fr.json"), []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{LocalesDir: dir})
	if err == nil || !strings.Contains(err.Error(), "login.username") || !strings.Contains(err.Error(), "consent.title") {
		t.Fatalf("an incomplete catalog: %v, want both problems named", err)
	}
	if _, err := New(Config{LocalesDir: filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("a missing locales directory was accepted")
	}
}

func TestBranding(t *testing.T) {
	logo := []byte("\x89PNG\r\n\x1a\n0000")
	u := newUI(t, Config{Brand: Branding{PlanName: "Riverbend Health", Color: "#0b5394", AccentColor: "#f1c232",
		Logo: logo, LogoType: "image/png", PrivacyOfficer: "Privacy Officer, 1 Main St", NoticeURL: "https://plan.example/npp",
		MemberServices: "1-800-555-0142 (TTY 711)", MemberServicesURL: "https://plan.example/help"}})
	mux := http.NewServeMux()
	u.Mount(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/ui/brand.css", nil))
	if !strings.Contains(w.Body.String(), "--brand:#0b5394") || !strings.Contains(w.Body.String(), "--accent:#f1c232") {
		t.Errorf("brand.css = %s", w.Body)
	}
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/ui/logo", nil))
	if w.Header().Get("Content-Type") != "image/png" || w.Body.String() != string(logo) {
		t.Errorf("logo: %s %q", w.Header().Get("Content-Type"), w.Body)
	}
	page := get(func(w http.ResponseWriter, r *http.Request) { u.Login(w, r, 200, LoginView{Local: true}) }, "").Body.String()
	for _, want := range []string{"Riverbend Health", `src="/ui/logo"`, "Privacy Officer, 1 Main St", `href="https://plan.example/npp"`,
		"1-800-555-0142 (TTY 711)", `href="https://plan.example/help"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, bad := range []Branding{{Color: "#ffcc00"}, {Color: "blue"}, {AccentColor: "#12"}, {Logo: logo, LogoType: "image/gif"}, {NoticeURL: "javascript:x"}} {
		if _, err := New(Config{Brand: bad}); err == nil {
			t.Errorf("branding %+v accepted", bad)
		}
	}
}

// TestErrorPagesOfferANextStep: every problem, in every language, is a
// branded page with what happened, a way on and the plan's contact.
func TestErrorPagesOfferANextStep(t *testing.T) {
	u := newUI(t, Config{Brand: Branding{PlanName: "Riverbend Health", MemberServices: "1-800-555-0142"}})
	for _, lang := range []string{"en", "es"} {
		for _, p := range Problems() {
			w := get(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req-123")
				u.Error(w, r, ErrorView{Problem: p, Status: 400, App: "Tracker"})
			}, lang)
			body := w.Body.String()
			if w.Code != 400 || !strings.Contains(body, "Riverbend Health") || !strings.Contains(body, `href="/account/apps"`) ||
				!strings.Contains(body, "1-800-555-0142") || !strings.Contains(body, "req-123") || !strings.Contains(body, `role="alert"`) {
				t.Fatalf("%s %s: %d\n%s", lang, p, w.Code, body)
			}
		}
	}
	w := get(u.NotFound, "es")
	if w.Code != 404 || !strings.Contains(w.Body.String(), "No encontramos esta página") {
		t.Fatalf("404 page: %d\n%s", w.Code, w.Body)
	}
}

func TestDatesInEachLanguage(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	u := newUI(t, Config{Location: ny})
	at := time.Date(2025, 3, 5, 19, 5, 0, 0, time.UTC)
	for lang, want := range map[string]string{"en": "March 5, 2025 at 2:05 PM EST", "es": "5 de marzo de 2025, a las 14:05 EST"} {
		got, err := u.formatDateTime(u.cats[lang], at)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", lang, got, err, want)
		}
	}
}

// TestGuide: the built-in guide is served at /guide in each language and
// linked from the consent page; a plan's own guide replaces it everywhere.
func TestGuide(t *testing.T) {
	u := newUI(t, Config{})
	mux := http.NewServeMux()
	u.Mount(mux)
	for lang, want := range map[string]string{"en": "What to look for in an app", "es": "Qué buscar en la política"} {
		r := httptest.NewRequest(http.MethodGet, PathGuide, nil)
		r.Header.Set("Accept-Language", lang)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		for _, s := range []string{want, "hhs.gov/hipaa/filing-a-complaint", "ftc.gov", `href="/account/apps"`} {
			if w.Code != 200 || !strings.Contains(w.Body.String(), s) {
				t.Errorf("%s guide lacks %q", lang, s)
			}
		}
	}
	consent := func(u *UI) string {
		v := ConsentView{App: ConsentApp{Name: "Tracker", Attestation: "attested"}}
		return get(func(w http.ResponseWriter, r *http.Request) { u.Consent(w, r, v) }, "").Body.String()
	}
	if !strings.Contains(consent(u), `href="/guide"`) {
		t.Error("the consent page does not link the guide")
	}
	own := newUI(t, Config{GuideURL: "https://plan.example/choosing-an-app"})
	if !strings.Contains(consent(own), `href="https://plan.example/choosing-an-app"`) {
		t.Error("the consent page does not link the plan's own guide")
	}
	mux = http.NewServeMux()
	own.Mount(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, PathGuide, nil))
	if w.Code != http.StatusFound || w.Header().Get("Location") != "https://plan.example/choosing-an-app" {
		t.Errorf("/guide with the plan's own: %d %s", w.Code, w.Header().Get("Location"))
	}
}
