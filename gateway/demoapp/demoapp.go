// Package demoapp is a tiny third-party app built into demo mode, so that a
// newcomer can try a whole SMART standalone launch in a browser: it sends
// the member to the gateway's authorization endpoint (PKCE S256), takes the
// code back, exchanges it with golang.org/x/oauth2 and shows what it could
// read. It behaves exactly like an outside app: it talks to the gateway
// over HTTP and finds the endpoints from the SMART discovery document.
package demoapp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Handler serves the demo app under /demo/.
type Handler struct {
	BaseURL  string // the gateway's base URL
	ClientID string // the demo app's client id (a public client)
	Logger   *slog.Logger
	// HTTPClient talks to the gateway; nil means a client with a timeout.
	HTTPClient *http.Client
	// CSRF protects the app's one form (gateway/web.CSRF implements it).
	CSRF CSRF
}

// CSRF issues and checks the anti-forgery token of the app's form.
type CSRF interface {
	Token(w http.ResponseWriter, r *http.Request) string
	Verify(r *http.Request) error
}

// Mount registers the demo app's routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /demo/{$}", h.serveHome)
	mux.HandleFunc("POST /demo/start", h.serveStart)
	mux.HandleFunc("GET /demo/callback", h.serveCallback)
	mux.HandleFunc("GET /demo/privacy", h.servePolicy)
	mux.HandleFunc("GET /demo/terms", h.servePolicy)
}

const cookieName = "demoapp_launch"

func (h *Handler) client() *http.Client {
	if h.HTTPClient != nil {
		return h.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// config reads the endpoints from the SMART discovery document.
func (h *Handler) config(ctx context.Context) (*oauth2.Config, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", h.BaseURL+"/fhir/.well-known/smart-configuration", nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	var d struct {
		Authorize string `json:"authorization_endpoint"`
		Token     string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return &oauth2.Config{
		ClientID: h.ClientID, RedirectURL: h.BaseURL + "/demo/callback",
		Scopes:   []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs"},
		Endpoint: oauth2.Endpoint{AuthURL: d.Authorize, TokenURL: d.Token, AuthStyle: oauth2.AuthStyleInParams},
	}, nil
}

func (h *Handler) serveHome(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, homeTmpl, h.CSRF.Token(w, r))
}

// serveStart begins a launch: state and PKCE verifier go in a short-lived
// HttpOnly cookie (a POST, so another site cannot start a launch).
func (h *Handler) serveStart(w http.ResponseWriter, r *http.Request) {
	if err := h.CSRF.Verify(r); err != nil {
		render(w, http.StatusForbidden, resultTmpl, result{Error: "This form has expired. Go back and try again."})
		return
	}
	conf, err := h.config(r.Context())
	if err != nil {
		h.fail(w, "could not read the gateway's SMART configuration", err)
		return
	}
	state, verifier := random(), oauth2.GenerateVerifier()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: state + "." + verifier, Path: "/demo/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(h.BaseURL, "https://")})
	u := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", h.BaseURL+"/fhir"))
	http.Redirect(w, r, u, http.StatusSeeOther)
}

type result struct {
	Error    string
	Patient  string
	Name     string
	Access   []string // what the plan let the app read, in plain words
	Keeps    bool     // the app got a refresh token: it keeps access
	Claims   int
	Coverage int
}

func (h *Handler) serveCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := r.Cookie(cookieName)
	state, verifier, ok := strings.Cut(valueOf(c, err), ".")
	if !ok || q.Get("state") != state {
		render(w, http.StatusBadRequest, resultTmpl, result{Error: "This launch did not start here (state mismatch)."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Path: "/demo/", MaxAge: -1})
	if e := q.Get("error"); e != "" {
		render(w, http.StatusOK, resultTmpl, result{Error: "The gateway answered " + e + ": " + q.Get("error_description")})
		return
	}
	conf, err := h.config(r.Context())
	if err != nil {
		h.fail(w, "could not read the gateway's SMART configuration", err)
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, h.client())
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		h.fail(w, "the code exchange failed", err)
		return
	}
	render(w, http.StatusOK, resultTmpl, h.read(ctx, conf, tok))
}

// read fetches what the token allows: the Patient and two searches.
func (h *Handler) read(ctx context.Context, conf *oauth2.Config, tok *oauth2.Token) result {
	scope, _ := tok.Extra("scope").(string)
	res := result{Access: plainAccess(scope), Keeps: tok.RefreshToken != ""}
	res.Patient, _ = tok.Extra("patient").(string)
	hc := conf.Client(ctx, tok)
	var p struct {
		Name []struct {
			Given  []string `json:"given"`
			Family string   `json:"family"`
		} `json:"name"`
	}
	if h.getJSON(hc, "/fhir/Patient/"+url.PathEscape(res.Patient), &p) == nil && len(p.Name) > 0 {
		res.Name = strings.TrimSpace(strings.Join(p.Name[0].Given, " ") + " " + p.Name[0].Family)
	}
	var b struct {
		Total int `json:"total"`
	}
	if h.getJSON(hc, "/fhir/ExplanationOfBenefit?patient="+url.QueryEscape(res.Patient), &b) == nil {
		res.Claims = b.Total
	}
	b.Total = 0
	if h.getJSON(hc, "/fhir/Coverage?patient="+url.QueryEscape(res.Patient), &b) == nil {
		res.Coverage = b.Total
	}
	return res
}

// typeWords are the words this app uses for the FHIR types it may get.
var typeWords = map[string]string{
	"Patient": "your basic details", "Coverage": "your coverage", "ExplanationOfBenefit": "your claims and payments",
	"RelatedPerson": "people on your coverage", "Organization": "organizations", "Practitioner": "doctors",
	"PractitionerRole": "doctors' roles", "Location": "places of care", "Medication": "drug products",
}

// plainAccess says in words what a granted scope lets the app read.
func plainAccess(scope string) []string {
	var out []string
	for _, s := range strings.Fields(scope) {
		rest, ok := strings.CutPrefix(s, "patient/")
		if !ok {
			continue
		}
		typ, _, _ := strings.Cut(rest, ".")
		w := typeWords[typ]
		if w == "" {
			w = typ
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func (h *Handler) getJSON(c *http.Client, path string, v any) error {
	resp, err := c.Get(h.BaseURL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (h *Handler) fail(w http.ResponseWriter, msg string, err error) {
	if h.Logger != nil {
		h.Logger.Error("demo app: "+msg, "err", err)
	}
	render(w, http.StatusBadGateway, resultTmpl, result{Error: "The demo app failed: " + msg + "."})
}

func (h *Handler) servePolicy(w http.ResponseWriter, _ *http.Request) {
	render(w, http.StatusOK, policyTmpl, nil)
}

func valueOf(c *http.Cookie, err error) string {
	if err != nil {
		return ""
	}
	return c.Value
}

func random() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func render(w http.ResponseWriter, status int, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = t.Execute(w, data)
}

const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Demo Health Tracker</title>
<link rel="stylesheet" href="/ui/style.css"></head><body><header class="bar"><div class="bar-inner"><span class="brand">Demo Health Tracker (a pretend third-party app)</span></div></header><main id="main">`

var (
	homeTmpl = template.Must(template.New("home").Parse(head + `<h1>Demo Health Tracker</h1>
<p>This pretend app shows what a member sees when a real app connects to the health plan.</p>
<form method="post" action="/demo/start"><input type="hidden" name="csrf_token" value="{{.}}"><button type="submit" id="connect">Connect my health plan</button></form></main></body></html>`))
	resultTmpl = template.Must(template.New("result").Parse(head + `{{if .Error}}<h1>Not connected</h1><p class="error" role="alert">{{.Error}}</p>
{{else}}<h1 id="connected">Connected</h1><p>Hello{{with .Name}}, {{.}}{{end}}. The plan let this app read Patient/{{.Patient}}.</p>
<ul><li>Claims found: <span id="claims">{{.Claims}}</span></li><li>Coverage records: {{.Coverage}}</li>
<li>You let this app read: {{range $i, $a := .Access}}{{if $i}}, {{end}}{{$a}}{{else}}nothing{{end}}.</li>
<li>{{if .Keeps}}It can keep reading them until the date you chose, unless you end its access.{{else}}It can read them for one hour.{{end}}</li></ul>{{end}}
<p><a href="/demo/">Start again</a> · <a href="/account/apps">Manage connected apps at your plan</a></p></main></body></html>`))
	policyTmpl = template.Must(template.New("policy").Parse(head + `<h1>Demo privacy policy and terms</h1>
<p>This demo app keeps nothing: it shows what it read and forgets it. A real app's policy would say what it collects, who it shares data with, and how to delete it.</p></main></body></html>`))
)
