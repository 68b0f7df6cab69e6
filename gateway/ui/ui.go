package ui

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // plan time zones load on any host
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed locales/*.json
var localeFS embed.FS

//go:embed static/style.css
var styleCSS []byte

// Paths the package serves (Mount) and links to.
const (
	PathGuide  = "/guide"
	PathNotice = "/plan/privacy-notice"
	PathLang   = "/ui/lang"
)

// Config is what New needs.
type Config struct {
	Brand Branding
	// LocalesDir holds extra message catalogs (es.json, fr.json…): a file
	// for a language already embedded replaces it, a new one adds the
	// language. Each must have exactly the keys of the embedded en.json.
	LocalesDir string
	// GuideURL is the plan's own guide for choosing an app; empty serves
	// the built-in one at PathGuide (which then redirects to GuideURL).
	GuideURL string
	// Location is the time zone times are shown in; nil is UTC.
	Location *time.Location
	// DemoNotice serves a placeholder Notice of Privacy Practices at
	// PathNotice for the demo's fictional plan.
	DemoNotice bool
	// Secure marks the language cookie Secure (https base URL).
	Secure bool
	// TypeLabels are the default (English) member-facing names of FHIR
	// types, from the FHIR catalog; a catalog's "type.<Name>" message
	// replaces one in its language.
	TypeLabels map[string]string
	// Logger receives render failures; nil discards them.
	Logger *slog.Logger
}

// UI renders the member pages.
type UI struct {
	cfg   Config
	cats  map[string]*catalog
	langs []string                      // catalog languages, DefaultLang first
	sets  map[string]*template.Template // lang → the language's pages (see parse)
}

// pageNames are the page templates besides the layout.
var pageNames = []string{"login", "consent", "apps", "revoke", "history", "error", "guide", "notice", "directory"}

// New loads the catalogs, parses every page and renders each, in every
// language, with sample data: a missing message, a catalog that lacks a
// key, a template that does not execute, or a bad branding stops it here.
func New(cfg Config) (*UI, error) {
	cfg.Brand.setDefaults()
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	errs := []error{cfg.Brand.Validate()}
	locales, _ := fs.Sub(localeFS, "locales")
	cats, err := loadCatalogs(locales, cfg.LocalesDir)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	u := &UI{cfg: cfg, cats: cats, sets: map[string]*template.Template{}}
	u.langs = slices.Sorted(maps.Keys(cats))
	slices.SortStableFunc(u.langs, func(a, b string) int { return boolInt(b == DefaultLang) - boolInt(a == DefaultLang) })
	if err := u.parse(); err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return u, u.check()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parse builds one template set per language: the shared templates
// (the layout's three parts, the attestation answers, the review checks)
// and every page, whose templates are named after it ("login/title",
// "login/content", "console-report/decision-basis": a page's own helpers
// too, so that no two pages' definitions can replace each other;
// TestPageTemplateNames checks the files), and for each page a template
// of its name that puts its title and content in the layout. The staff
// areas' pages, English only, are in DefaultLang's set alone.
//
// A set per language binds that language's functions (t, msg, date…).
// Parsing the layout with each page and cloning every page for every
// language kept 4.2 MB of heap; these sets keep 1.1 MB, the catalogs
// included (TestTemplatesHeap).
func (u *UI) parse() error {
	for _, lang := range u.langs {
		names := pageNames
		if lang == DefaultLang {
			names = slices.Concat(pageNames, consolePages, portalPages)
		}
		set, err := parseSet(u.funcs(u.cats[lang]), names)
		if err != nil {
			return fmt.Errorf("ui: %s: %w", lang, err)
		}
		u.sets[lang] = set
	}
	return nil
}

// sharedTemplates are the files whose templates any page may call.
var sharedTemplates = []string{"templates/layout.html", "templates/attestation.html", "templates/console-checks.html"}

// parseSet parses the shared templates and the named pages into one set
// with funcs, and adds each page's whole-page template.
func parseSet(funcs template.FuncMap, names []string) (*template.Template, error) {
	files := slices.Clone(sharedTemplates)
	for _, name := range names {
		files = append(files, "templates/"+name+".html")
	}
	set, err := template.New("").Funcs(funcs).ParseFS(templateFS, files...)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if set.Lookup(name+"/title") == nil || set.Lookup(name+"/content") == nil {
			return nil, fmt.Errorf("%s: a page defines %[1]s/title and %[1]s/content", name)
		}
		if _, err := set.New(name).Parse(fmt.Sprintf(
			`{{template "layout-head" .}}{{template %q .}}{{template "layout-header" .}}{{template %q .}}{{template "layout-foot" .}}`,
			name+"/title", name+"/content")); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// funcs are the template functions of one language.
func (u *UI) funcs(c *catalog) template.FuncMap {
	return template.FuncMap{
		"t": c.text,
		"msg": func(m *Msg) (string, error) {
			if m == nil {
				return "", nil
			}
			return c.text(m.Key, m.Args...)
		},
		"category":       func(id string) (string, error) { return c.text("category." + id) },
		"categoryWhat":   func(id string) (string, error) { return c.text("category." + id + ".what") },
		"join":           func(list []string) string { return strings.Join(u.typeNames(c, list), ", ") },
		"list":           func(list []string) string { return strings.Join(list, "; ") },
		"date":           func(t time.Time) (string, error) { return u.formatDate(c, t) },
		"attestQuestion": func(id string) (string, error) { return c.text("consent.attest.q." + id) },
		"attestAnswer": func(a string) (string, error) {
			if a == "" {
				a = "unanswered"
			}
			return c.text("consent.attest.answer." + a)
		},
		"datetime": func(t time.Time) (string, error) { return u.formatDateTime(c, t) },
		"problemTitle": func(p Problem, args []any) (string, error) {
			return c.text("problem."+string(p)+".title", args...)
		},
		"problemMessage": func(p Problem, args []any) (string, error) {
			return c.text("problem."+string(p)+".message", args...)
		},
	}
}

// typeNames translates FHIR type names for members: the catalog's
// "type.<Name>", else the FHIR catalog's label, else the name itself.
func (u *UI) typeNames(c *catalog, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		switch {
		case c.has("type." + n):
			out[i], _ = c.text("type." + n)
		case u.cfg.TypeLabels[n] != "":
			out[i] = u.cfg.TypeLabels[n]
		default:
			out[i] = n
		}
	}
	return out
}

func (u *UI) formatDate(c *catalog, t time.Time) (string, error) {
	t = t.In(u.cfg.Location)
	month, err := c.text(fmt.Sprintf("month.%d", int(t.Month())))
	if err != nil {
		return "", err
	}
	return c.text("format.date", "month", month, "day", t.Day(), "year", t.Year())
}

func (u *UI) formatDateTime(c *catalog, t time.Time) (string, error) {
	d, err := u.formatDate(c, t)
	if err != nil {
		return "", err
	}
	layout, err := c.text("format.time")
	if err != nil {
		return "", err
	}
	return c.text("format.datetime", "date", d, "time", t.In(u.cfg.Location).Format(layout))
}

// page is what the layout renders around one page's content.
type page struct {
	Page     string
	Lang     string
	Langs    []langLink
	Brand    *Branding
	GuideURL string
	Nav      *nav
	Main     any
	// Area is "" for member pages, AreaConsole or AreaPortal for the
	// plan's staff and app developers (English only, no language switch).
	Area  string
	Staff *StaffNav
	Dev   *DevNav
}

// Home is where the plan's name in the header leads.
func (p page) Home() string {
	switch p.Area {
	case AreaConsole:
		return PathConsole
	case AreaPortal:
		return PathPortal
	}
	return "/account/apps"
}

// AreaName names the area in the header and footer.
func (p page) AreaName() string {
	switch p.Area {
	case AreaConsole:
		return "Admin console"
	case AreaPortal:
		return "Developer portal"
	}
	return ""
}

// nav is the signed-in member's navigation (connected apps, sign out).
type nav struct{ CSRF string }

// langLink is one entry of the language switch.
type langLink struct {
	Tag, Name, Href string
	Current         bool
}

// GuideURL is where links to the guide for choosing an app point.
func (u *UI) GuideURL() string {
	if u.cfg.GuideURL != "" {
		return u.cfg.GuideURL
	}
	return PathGuide
}

// Brand returns the plan's branding (defaults filled in).
func (u *UI) Brand() Branding { return u.cfg.Brand }

// Lang returns the language a request's pages are shown in.
func (u *UI) Lang(r *http.Request) string { return negotiate(r, u.cats) }

// render writes one page in the request's language: into a buffer first,
// so that a failure is a clean error page, not half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, main any, n *nav) {
	u.renderPage(w, r, status, page{Page: name, Lang: u.Lang(r), Brand: &u.cfg.Brand, GuideURL: u.GuideURL(), Nav: n, Main: main})
}

// renderPage writes p: into a buffer first, so that a failure is a clean
// error, not half a page.
func (u *UI) renderPage(w http.ResponseWriter, r *http.Request, status int, p page) {
	lang, name := p.Lang, p.Page
	var buf bytes.Buffer
	if err := u.executePage(&buf, r, p); err != nil {
		u.cfg.Logger.ErrorContext(r.Context(), "render page", "page", name, "lang", lang, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", lang)
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Del("Content-Length")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

func (u *UI) execute(w io.Writer, r *http.Request, lang, name string, main any, n *nav) error {
	p := page{Page: name, Lang: lang, Brand: &u.cfg.Brand, GuideURL: u.GuideURL(), Nav: n, Main: main}
	return u.executePage(w, r, p)
}

func (u *UI) executePage(w io.Writer, r *http.Request, p page) error {
	lang, name := p.Lang, p.Page
	set := u.sets[lang]
	if set == nil || set.Lookup(name+"/content") == nil {
		return fmt.Errorf("ui: no %s page in %q", name, lang)
	}
	if p.Area != "" {
		return set.ExecuteTemplate(w, name, p)
	}
	here := "/account/apps"
	if r.Method == http.MethodGet {
		here = r.URL.RequestURI()
	}
	for _, l := range u.langs {
		nameText, _ := u.cats[l].text("language.name")
		p.Langs = append(p.Langs, langLink{Tag: l, Name: nameText, Current: l == lang,
			Href: PathLang + "?" + url.Values{"to": {l}, "return_to": {here}}.Encode()})
	}
	return set.ExecuteTemplate(w, name, p)
}
