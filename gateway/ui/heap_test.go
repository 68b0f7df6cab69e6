package ui

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestTemplatesHeap: what New keeps on the heap (every page of every
// language, parsed and escaped, and the catalogs) stays under a budget.
// Each language's pages share one layout and the staff areas' English-only
// pages exist once: 1.1 MB, where parsing the layout with every page and
// cloning every page for every language kept 4.2 MB.
func TestTemplatesHeap(t *testing.T) {
	const budget = 2 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	u := newUI(t, Config{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(u)
	if kept := int64(after.HeapAlloc) - int64(before.HeapAlloc); kept > budget {
		t.Errorf("New kept %d B of heap, budget %d B", kept, budget)
	} else {
		t.Logf("New kept %d B of heap", kept)
	}
}

// TestPageSets: the staff areas' pages exist in English only, and a page
// a language's set does not have is an error, not a panic or an empty page.
func TestPageSets(t *testing.T) {
	u := newUI(t, Config{})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	var buf bytes.Buffer
	if err := u.executePage(&buf, r, page{Page: "console-message", Lang: DefaultLang, Brand: &u.cfg.Brand,
		Main: ConsoleMessageView{Title: "T"}, Area: AreaConsole}); err != nil || !strings.Contains(buf.String(), "<title>T · ") {
		t.Errorf("console page in English: %v\n%s", err, buf.String())
	}
	for _, p := range []page{{Page: "console-message", Lang: "es", Area: AreaConsole}, {Page: "nosuch", Lang: DefaultLang}, {Page: "login", Lang: "xx"}} {
		p.Brand, buf = &u.cfg.Brand, bytes.Buffer{}
		if err := u.executePage(&buf, r, p); err == nil || buf.Len() > 0 {
			t.Errorf("%s in %q: %v, %d bytes written", p.Page, p.Lang, err, buf.Len())
		}
	}
}

// TestPageTemplateNames: every file under templates/ is a shared one or a
// listed page, and a page file defines only templates named after the
// page ("login/title"), its title and content among them, so that parsing
// the pages into one set cannot let one page's definition replace
// another's.
func TestPageTemplateNames(t *testing.T) {
	u := newUI(t, Config{})
	funcs := u.funcs(u.cats[DefaultLang])
	pages := slices.Concat(pageNames, consolePages, portalPages)
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		file := "templates/" + e.Name()
		if !slices.Contains(sharedTemplates, file) && !slices.Contains(pages, strings.TrimSuffix(e.Name(), ".html")) {
			t.Errorf("%s is neither a shared template nor a listed page", file)
		}
	}
	for _, page := range pages {
		file := page + ".html"
		set, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/"+file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, tmpl := range set.Templates() {
			if name := tmpl.Name(); name != file && name != "" && !strings.HasPrefix(name, page+"/") {
				t.Errorf("%s defines %q, not named after the page (%s/…)", file, name, page)
			}
		}
		for _, want := range []string{page + "/title", page + "/content"} {
			if set.Lookup(want) == nil {
				t.Errorf("%s does not define %q", file, want)
			}
		}
	}
}
