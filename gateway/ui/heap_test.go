package ui

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
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
