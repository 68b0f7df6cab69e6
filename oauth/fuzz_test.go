package oauth

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzLocalPath: whatever a return_to parameter holds, an accepted value
// is a path on this server, never another host.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/account/apps", "//evil.example", "/\\evil", "https://x/", "/a?b=c#d", "/%2F%2Fevil", "/\t/evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := localPath(s)
		if !ok {
			return
		}
		u, err := url.Parse(p)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(strings.Map(dropControl, p), "//") {
			t.Fatalf("localPath accepted %q", s)
		}
	})
}

// dropControl removes what a browser strips from a URL before using it.
func dropControl(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return -1
	}
	return r
}
