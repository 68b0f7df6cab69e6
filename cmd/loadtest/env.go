package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway"
	redisstore "github.com/patientaccess/gateway/gateway/store/redis"
)

// appRedirect is the registered redirect URI of the load test's app; the
// browser stops at it and reads the code.
const appRedirect = "https://loadtest.example/callback"

// env is a gateway serving on a loopback port, with an approved app and
// the demo member alice.
type env struct {
	store    string
	base     string
	patient  string
	conf     *oauth2.Config
	password string
	browser  *http.Client // alice's browser: signed in once, then every launch reuses the session
	close    func()
}

// start starts a demo-mode gateway on 127.0.0.1 with the given store.
func start(ctx context.Context, store, redisURL string, logger *slog.Logger) (*env, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	e := &env{store: store, base: base, password: random(12)}
	cfg := gateway.Config{Addr: ln.Addr().String(), BaseURL: base, Demo: true,
		DemoPassword: e.password, AdminToken: random(16)}
	opts := gateway.Options{Logger: logger}
	var cleanups []func()
	switch store {
	case "memory":
	case "redis":
		prefix := "pagload:" + random(6) + ":"
		st, client, err := redisstore.Open(ctx, redisURL, 2*time.Second, redisstore.WithPrefix(prefix))
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("redis at %s: %w", redisURL, err)
		}
		opts.Store = st
		cleanups = append(cleanups, func() {
			for _, p := range []string{prefix, "rate:" + prefix} {
				iter := client.Scan(ctx, 0, p+"*", 500).Iterator()
				for iter.Next(ctx) {
					client.Del(ctx, iter.Val())
				}
			}
			client.Close()
		})
	default:
		ln.Close()
		return nil, fmt.Errorf("unknown store %q (want memory or redis)", store)
	}
	gw, err := gateway.New(ctx, cfg, opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{Handler: gw.Handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	e.close = func() {
		_ = srv.Close()
		_ = gw.Close()
		for _, c := range cleanups {
			c()
		}
	}
	for _, m := range gw.Demo.Members {
		if m.Username == "alice" {
			e.patient = m.PatientID
		}
	}
	if e.conf, err = e.registerApp(cfg.AdminToken); err != nil {
		e.close()
		return nil, fmt.Errorf("register app: %w", err)
	}
	return e, nil
}

// registerApp registers a confidential app through the admin API and
// approves it, overriding the vetting criteria (an admin's documented
// override).
func (e *env) registerApp(adminToken string) (*oauth2.Config, error) {
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	scope := "launch/patient openid fhirUser offline_access patient/*.rs"
	if err := e.admin(adminToken, "/admin/apps", map[string]any{
		"name": "Load Test", "developer": "Load Test", "redirect_uris": []string{appRedirect},
		"privacy_policy_url": "https://loadtest.example/privacy", "scope": scope,
	}, http.StatusCreated, &reg); err != nil {
		return nil, err
	}
	approval := map[string]string{"override": "load test app: the vetting criteria are not what is measured"}
	if err := e.admin(adminToken, "/admin/apps/"+reg.ClientID+"/approve", approval, http.StatusOK, nil); err != nil {
		return nil, err
	}
	return &oauth2.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RedirectURL: appRedirect,
		Scopes: strings.Fields(scope),
		Endpoint: oauth2.Endpoint{AuthURL: e.base + "/oauth/authorize", TokenURL: e.base + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInHeader}}, nil
}

func (e *env) admin(token, path string, body any, want int, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, msg)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	returnRE = regexp.MustCompile(`name="return_to" value="([^"]*)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	shareRE  = regexp.MustCompile(`name="share" value="([^"]+)"`)
)

// mint runs a whole launch as alice: the authorization request with PKCE,
// the sign-in and consent pages, and the code exchange.
func (e *env) mint(ctx context.Context) (*oauth2.Token, error) {
	if e.browser == nil {
		jar, _ := cookiejar.New(nil)
		e.browser = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if !strings.HasPrefix(req.URL.String(), e.base) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	}
	browser := e.browser
	verifier, state := oauth2.GenerateVerifier(), random(10)
	authURL := e.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", e.base+"/fhir"))
	page, resp, err := fetch(browser, "GET", authURL, nil)
	if err != nil {
		return nil, err
	}
	if resp.Request.URL.Path == "/login" {
		form := url.Values{"csrf_token": {field(page, csrfRE)}, "return_to": {field(page, returnRE)},
			"username": {"alice"}, "password": {e.password}}
		if page, _, err = fetch(browser, "POST", e.base+"/login", form); err != nil {
			return nil, err
		}
	}
	var share []string
	for _, m := range shareRE.FindAllStringSubmatch(page, -1) {
		share = append(share, html.UnescapeString(m[1]))
	}
	form := url.Values{"csrf_token": {field(page, csrfRE)}, "decision": {"allow"}, "share": share, "duration": {"limited"}}
	if _, resp, err = fetch(browser, "POST", e.base+field(page, actionRE), form); err != nil {
		return nil, err
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		return nil, fmt.Errorf("the launch did not end with a code (status %d, %q)", resp.StatusCode, resp.Header.Get("Location"))
	}
	return e.conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
}

// fetch sends a request (a form when form is not nil) and returns the body
// and the last response.
func fetch(c *http.Client, method, u string, form url.Values) (string, *http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp, err
}

func field(page string, re *regexp.Regexp) string {
	m := re.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func random(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("no randomness"))
	}
	return hex.EncodeToString(b)
}
