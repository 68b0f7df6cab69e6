package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// DefaultLang is the language of the reference catalog (locales/en.json):
// every other catalog must have exactly its keys and placeholders.
const DefaultLang = "en"

// langCookie remembers the language a member chose with the switch. It is
// a session cookie: it ends when the browser closes.
const langCookie = "pag_lang"

// catalog is one language's messages: keys to text with {name}
// placeholders filled from a message's arguments.
type catalog struct {
	lang string
	msgs map[string]string
}

// placeholder matches {name} in a message.
var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// langTag accepts the primary language subtags a catalog file may be named
// by (en.json, es.json, zh-hant.json).
var langTag = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`)

// loadCatalogs reads the embedded catalogs, then every *.json in dir (when
// set): a file for a language already known replaces it, a new one adds
// the language. Each catalog is checked against the reference one: the
// same keys and the same placeholders in each message; every problem is
// reported at once.
func loadCatalogs(embedded fs.FS, dir string) (map[string]*catalog, error) {
	cats := map[string]*catalog{}
	var errs []error
	read := func(fsys fs.FS, where string) {
		names, err := fs.Glob(fsys, "*.json")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			return
		}
		for _, name := range names {
			c, err := readCatalog(fsys, name)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", filepath.Join(where, name), err))
				continue
			}
			cats[c.lang] = c
		}
	}
	read(embedded, "embedded locales")
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("locales directory %s: not a readable directory", dir))
		} else {
			read(os.DirFS(dir), dir)
		}
	}
	if len(errs) == 0 {
		errs = checkCatalogs(cats)
	}
	return cats, errors.Join(errs...)
}

func readCatalog(fsys fs.FS, name string) (*catalog, error) {
	lang := strings.ToLower(strings.TrimSuffix(name, ".json"))
	if !langTag.MatchString(lang) {
		return nil, fmt.Errorf("the file name must be a language tag such as es.json")
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var msgs map[string]string
	if err := json.Unmarshal(data, &msgs); err != nil {
		return nil, fmt.Errorf("not a JSON object of strings: %w", err)
	}
	return &catalog{lang: lang, msgs: msgs}, nil
}

// checkCatalogs compares every catalog with the reference one.
func checkCatalogs(cats map[string]*catalog) []error {
	ref, ok := cats[DefaultLang]
	if !ok {
		return []error{fmt.Errorf("no %s.json catalog", DefaultLang)}
	}
	var errs []error
	for _, lang := range slices.Sorted(maps.Keys(cats)) {
		c := cats[lang]
		var missing, extra, wrong []string
		for k, v := range ref.msgs {
			got, ok := c.msgs[k]
			switch {
			case !ok:
				missing = append(missing, k)
			case !slices.Equal(placeholders(got), placeholders(v)):
				wrong = append(wrong, k)
			}
		}
		for k := range c.msgs {
			if _, ok := ref.msgs[k]; !ok {
				extra = append(extra, k)
			}
		}
		for _, p := range []struct {
			what string
			keys []string
		}{{"missing", missing}, {"unknown", extra}, {"with other placeholders than en.json", wrong}} {
			if len(p.keys) > 0 {
				sort.Strings(p.keys)
				errs = append(errs, fmt.Errorf("%s.json: %d messages %s: %s", lang, len(p.keys), p.what, strings.Join(p.keys, ", ")))
			}
		}
	}
	return errs
}

// placeholders returns the distinct placeholder names of a message, sorted.
func placeholders(msg string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(msg, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// text returns the message key with its placeholders filled from args,
// which come in name, value pairs. An unknown key, an odd argument list or
// a placeholder without a value is an error: the start-up rendering of
// every page turns such a mistake into a refusal to start.
func (c *catalog) text(key string, args ...any) (string, error) {
	msg, ok := c.msgs[key]
	if !ok {
		return "", fmt.Errorf("%s: no message %q", c.lang, key)
	}
	if len(args)%2 != 0 {
		return "", fmt.Errorf("%s: message %q: arguments must come in name, value pairs", c.lang, key)
	}
	vals := map[string]string{}
	for i := 0; i < len(args); i += 2 {
		vals[fmt.Sprint(args[i])] = fmt.Sprint(args[i+1])
	}
	var missing error
	out := placeholder.ReplaceAllStringFunc(msg, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := vals[name]
		if !ok {
			missing = fmt.Errorf("%s: message %q needs a value for {%s}", c.lang, key, name)
		}
		return v
	})
	return out, missing
}

// has reports whether the catalog has a message for key.
func (c *catalog) has(key string) bool { _, ok := c.msgs[key]; return ok }

// negotiate picks the language of a request: the switch's cookie if it
// names a known language, else the best match of Accept-Language (RFC
// 9110 §12.5.4, by primary subtag), else DefaultLang.
func negotiate(r *http.Request, known map[string]*catalog) string {
	if c, err := r.Cookie(langCookie); err == nil && known[c.Value] != nil {
		return c.Value
	}
	best, bestQ := DefaultLang, 0.0
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		tag = strings.ToLower(tag)
		lang := tag
		if known[lang] == nil {
			lang, _, _ = strings.Cut(tag, "-")
		}
		if known[lang] != nil && q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best
}
