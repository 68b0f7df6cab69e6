package apps

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRedirectURI: whatever an app registers, an accepted redirect URI is
// absolute, has no fragment, credentials or wildcard, never uses a script-bearing
// scheme, and uses plain http only on a loopback host; an accepted privacy
// link (it becomes an href on the consent page) is an http(s) URL under the
// same rules, a fragment allowed.
func FuzzRedirectURI(f *testing.F) {
	for _, s := range []string{"https://app.example/cb", "http://127.0.0.1:9000/cb", "com.example.app:/cb",
		"javascript:alert(1)", "JAVASCRIPT://x.y/%0aalert(1)", "http://evil.example/cb", "https://u:p@x/cb", "https://x/cb#f", "data:text/html,x", "https://*.x.example/cb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		reg := Registration{Name: "App", RedirectURIs: []string{raw}, PrivacyPolicyURL: raw}
		err := reg.Validate()
		redirectOK := checkRedirectURI(raw) == ""
		linkOK := len(checkLink("privacy policy URL", raw)) == 0
		if (err == nil) != (redirectOK && linkOK) {
			t.Fatalf("Validate and the checks disagree on %q: %v", raw, err)
		}
		for ok, web := range map[bool]bool{redirectOK: false, linkOK: true} {
			if !ok || (web && raw == "") { // the privacy link is optional
				continue
			}
			u, perr := url.Parse(raw)
			if perr != nil || u.Scheme == "" || u.User != nil || (!web && strings.ContainsAny(raw, "#*")) {
				t.Fatalf("accepted %q", raw)
			}
			if forbiddenScheme(u.Scheme) || (web && u.Scheme != "https" && u.Scheme != "http") {
				t.Fatalf("accepted scheme %q in %q", u.Scheme, raw)
			}
			if u.Scheme == "http" && !isLoopback(u.Hostname()) {
				t.Fatalf("accepted plain http off loopback: %q", raw)
			}
		}
	})
}
