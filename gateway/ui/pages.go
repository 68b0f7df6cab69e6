package ui

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"
)

// Login renders the sign-in page with status (200, 401 after a failed
// attempt, 429 when throttled).
func (u *UI) Login(w http.ResponseWriter, r *http.Request, status int, v LoginView) {
	u.render(w, r, status, "login", v, nil)
}

// Consent renders the consent page. The HIPAA warning and the app's
// attestation are part of its template, whatever the view holds.
func (u *UI) Consent(w http.ResponseWriter, r *http.Request, v ConsentView) {
	u.render(w, r, http.StatusOK, "consent", v, nil)
}

// ConnectedApps renders the member's connected apps.
func (u *UI) ConnectedApps(w http.ResponseWriter, r *http.Request, v AppsView) {
	u.render(w, r, http.StatusOK, "apps", v, &nav{CSRF: v.CSRF})
}

// RevokeConfirm asks the member to confirm ending an app's access.
func (u *UI) RevokeConfirm(w http.ResponseWriter, r *http.Request, v RevokeView) {
	u.render(w, r, http.StatusOK, "revoke", v, &nav{CSRF: v.CSRF})
}

// History renders an app's access history.
func (u *UI) History(w http.ResponseWriter, r *http.Request, v HistoryView) {
	u.render(w, r, http.StatusOK, "history", v, &nav{CSRF: v.CSRF})
}

// Error renders the branded error page: what happened and what to do next.
func (u *UI) Error(w http.ResponseWriter, r *http.Request, v ErrorView) {
	if v.Status == 0 {
		v.Status = http.StatusInternalServerError
	}
	v.Args = []any{"plan", u.cfg.Brand.PlanName}
	if len(problemArgs[v.Problem]) > 0 {
		v.Args = append(v.Args, "app", v.App)
	}
	// The request id the gateway echoes (gateway/web.RequestID), so a
	// member can quote it to support.
	v.RequestID = w.Header().Get("X-Request-Id")
	u.render(w, r, v.Status, "error", v, nil)
}

// NotFound is the branded 404 page, with a way on.
func (u *UI) NotFound(w http.ResponseWriter, r *http.Request) {
	u.Error(w, r, ErrorView{Problem: ProblemNotFound, Status: http.StatusNotFound, SignIn: true})
}

// Mount registers the stylesheets, the logo, the language switch, the
// guide for choosing an app and, in the demo, the placeholder notice.
func (u *UI) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /ui/style.css", serveCSS(styleCSS))
	mux.HandleFunc("GET /ui/brand.css", serveCSS(u.cfg.Brand.brandCSS()))
	if u.cfg.Brand.HasLogo() {
		mux.HandleFunc("GET /ui/logo", u.serveLogo)
	}
	mux.HandleFunc("GET "+PathLang, u.serveLang)
	mux.HandleFunc("GET "+PathGuide, u.serveGuide)
	if u.cfg.DemoNotice {
		mux.HandleFunc("GET "+PathNotice, func(w http.ResponseWriter, r *http.Request) {
			u.render(w, r, http.StatusOK, "notice", nil, nil)
		})
	}
}

func serveCSS(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(body)
	}
}

func (u *UI) serveLogo(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", u.cfg.Brand.LogoType)
	h.Set("Cache-Control", "public, max-age=3600")
	// An SVG opened on its own must not run anything it holds.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	_, _ = w.Write(u.cfg.Brand.Logo)
}

// serveLang is the language switch: it remembers the choice in a session
// cookie and goes back to the page (a local path only).
func (u *UI) serveLang(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ret := localPath(q.Get("return_to"))
	if lang := q.Get("to"); u.cats[lang] != nil {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", HttpOnly: true,
			Secure: u.cfg.Secure, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

// localPath keeps a path on this server ("/…", not "//…" nor "/\…", no
// control characters), else the connected apps page: the switch cannot
// be used as an open redirect.
func localPath(p string) string {
	const fallback = "/account/apps"
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\") ||
		strings.ContainsFunc(p, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		return fallback
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" {
		return fallback
	}
	return p
}

func (u *UI) serveGuide(w http.ResponseWriter, r *http.Request) {
	if u.cfg.GuideURL != "" {
		http.Redirect(w, r, u.cfg.GuideURL, http.StatusFound)
		return
	}
	u.render(w, r, http.StatusOK, "guide", nil, nil)
}

// check renders every page, every problem and every message a view may
// carry, in every language, into nothing.
func (u *UI) check() error {
	now := time.Date(2025, 3, 5, 14, 5, 0, 0, time.UTC)
	views := []struct {
		name string
		main any
	}{
		{"login", LoginView{CSRF: "c", ReturnTo: "/", Local: true, PlanURL: "/p", Error: M(MsgLoginMismatch)}},
		{"login", LoginView{Error: M(MsgLoginThrottled, "minutes", 2)}},
		{"login", LoginView{Error: M(MsgLoginThrottledMinute)}},
		{"revoke", RevokeView{CSRF: "c", ClientID: "a", App: "App"}},
		{"history", HistoryView{App: "App", ClientID: "a", Truncated: true, Rows: []HistoryRow{{Time: now, Types: []string{"Coverage"}, Count: 1}}}},
		{"history", HistoryView{App: "App"}},
		{"guide", nil}, {"notice", nil},
		{"directory", directorySamples(now)[0]}, {"directory", directorySamples(now)[1]},
		{"apps", AppsView{Member: "M", IdleDays: 90, Notice: M(MsgAppsRevoked, "app", "App"), Apps: []ConnectedApp{
			{Name: "A", Developer: "D", Categories: []string{"claims"}, Granted: now, LastUsed: now, Ends: now, OneTime: true, Problem: M(MsgAppsCutOff, "plan", "P")},
			{Name: "B", Sensitive: true, Granted: now}, {Name: "C", Ends: now, Problem: M(MsgAppsEnded)}}}},
		{"apps", AppsView{}},
	}
	var answers []AttestationAnswer
	for i, q := range AttestationQuestions {
		answers = append(answers, AttestationAnswer{Question: q, Answer: []string{"yes", "no", ""}[i%3]})
	}
	for _, att := range []string{"attested", "declined", "none"} {
		for _, once := range []bool{true, false} {
			app := ConsentApp{Name: "App", Developer: "Dev", Website: "https://a", PrivacyPolicyURL: "https://p",
				TermsURL: "https://t", LogoURL: "/l", Attestation: att}
			if att != "none" {
				app.Answers, app.Stale, app.PolicyChanged = answers, once, now
			}
			views = append(views, struct {
				name string
				main any
			}{"consent", ConsentView{App: app, Member: "M", OfferSensitive: true, OneTimeOnly: once,
				Ends: now, IdleDays: 90, Identity: true, Categories: categorySamples()}})
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	var errs []error
	for _, lang := range u.langs {
		for _, v := range views {
			if err := u.execute(io.Discard, r, lang, v.name, v.main, &nav{}); err != nil {
				errs = append(errs, fmt.Errorf("ui: %s page in %s: %w", v.name, lang, err))
			}
		}
		for _, p := range Problems() {
			v := ErrorView{Problem: p, Status: 400, Args: []any{"plan", "P", "app", "A"}}
			if err := u.execute(io.Discard, r, lang, "error", v, nil); err != nil {
				errs = append(errs, fmt.Errorf("ui: error page %s in %s: %w", p, lang, err))
			}
		}
	}
	errs = append(errs, u.checkStaff(r)...)
	return errors.Join(errs...)
}

// Categories are the data categories the pages have words for; the FHIR
// catalog's categories must all be among them (the composition root
// checks).
var Categories = []string{"about-you", "claims", "coverage", "clinical", "pharmacy", "directory"}

func categorySamples() []ConsentCategory {
	out := make([]ConsentCategory, len(Categories))
	for i, c := range Categories {
		out[i] = ConsentCategory{ID: c, Types: []string{"Patient"}, Only: []string{"type=x"}}
	}
	return out
}
