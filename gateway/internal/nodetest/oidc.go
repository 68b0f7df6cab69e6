package nodetest

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// OIDCAccount is a member account at the test OpenID provider. Every claim
// in Claims is put in the id_token (with sub = Sub).
type OIDCAccount struct {
	Sub      string         `json:"sub"`
	Password string         `json:"password"`
	Claims   map[string]any `json:"claims,omitempty"`
}

// OIDCClient is the one confidential client the provider knows: the
// relying party under test.
type OIDCClient struct {
	ID           string
	Secret       string
	RedirectURIs []string
}

// OIDCProvider is a running panva oidc-provider (js/oidc-provider.mjs).
type OIDCProvider struct {
	*Server
	// Issuer is the provider's issuer URL, where discovery is found.
	Issuer string
}

// StartOIDCProvider starts the test OpenID provider with one client and the
// given accounts, and stops it when the test ends.
func StartOIDCProvider(t testing.TB, client OIDCClient, accounts ...OIDCAccount) *OIDCProvider {
	t.Helper()
	raw, err := json.Marshal(accounts)
	if err != nil {
		t.Fatalf("nodetest: accounts: %v", err)
	}
	srv := Start(t, "oidc-provider.mjs",
		"OIDC_CLIENT_ID="+client.ID, "OIDC_CLIENT_SECRET="+client.Secret,
		"OIDC_REDIRECT_URIS="+strings.Join(client.RedirectURIs, " "), "OIDC_ACCOUNTS="+string(raw))
	return &OIDCProvider{Server: srv, Issuer: srv.URL}
}

// TamperNextIDToken makes the provider flip one byte of the signature of
// the next id_token it issues, so that a relying party must reject it.
func (p *OIDCProvider) TamperNextIDToken(t testing.TB) {
	t.Helper()
	resp, err := http.Post(p.Issuer+"/_test/tamper?mode=signature", "text/plain", nil)
	if err != nil {
		t.Fatalf("nodetest: tamper: %v", err)
	}
	resp.Body.Close()
}

// Page is an HTML page a browser ended on.
type Page struct {
	Status int
	URL    *url.URL
	Header http.Header
	Body   string
}

// Get fetches u with the browser's client (its cookie jar and redirect
// policy) and reads the page it ends on.
func Get(t testing.TB, c *http.Client, u string) Page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatalf("nodetest: GET %s: %v", u, err)
	}
	return do(t, c, req)
}

// PostForm posts form to u with the browser's client.
func PostForm(t testing.TB, c *http.Client, u string, form url.Values) Page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("nodetest: POST %s: %v", u, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

func do(t testing.TB, c *http.Client, req *http.Request) Page {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("nodetest: %s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, URL: resp.Request.URL, Header: resp.Header, Body: string(body)}
}

var formActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// OnProvider reports whether the browser is on one of the provider's own
// sign-in pages.
func (p *OIDCProvider) OnProvider(pg Page) bool {
	return pg.URL != nil && strings.HasPrefix(pg.URL.String(), p.Issuer+"/interaction/")
}

// SignIn answers the provider's sign-in page pg (where a relying party sent
// the browser) as the member login/password, then its consent page if it
// shows one, and returns the page the browser ends on: whatever the
// client's redirect policy stops at after the provider sends it back to the
// relying party. A wrong password ends on the provider's login page again.
func (p *OIDCProvider) SignIn(t testing.TB, c *http.Client, pg Page, login, password string) Page {
	t.Helper()
	if !p.OnProvider(pg) {
		t.Fatalf("nodetest: want the provider's sign-in page, got %d %s:\n%s", pg.Status, pg.URL, pg.Body)
	}
	pg = PostForm(t, c, p.action(t, pg), url.Values{"login": {login}, "password": {password}})
	if p.OnProvider(pg) && strings.Contains(pg.URL.Path, "/interaction/") && strings.Contains(pg.Body, "/confirm\"") {
		pg = PostForm(t, c, p.action(t, pg), url.Values{})
	}
	return pg
}

// Cancel presses Cancel on the provider's sign-in page pg.
func (p *OIDCProvider) Cancel(t testing.TB, c *http.Client, pg Page) Page {
	t.Helper()
	if !p.OnProvider(pg) {
		t.Fatalf("nodetest: want the provider's sign-in page, got %d %s", pg.Status, pg.URL)
	}
	return Get(t, c, pg.URL.String()+"/abort")
}

func (p *OIDCProvider) action(t testing.TB, pg Page) string {
	t.Helper()
	m := formActionRE.FindStringSubmatch(pg.Body)
	if m == nil {
		t.Fatalf("nodetest: provider page %s has no form:\n%s", pg.URL, pg.Body)
	}
	return p.Issuer + html.UnescapeString(m[1])
}
