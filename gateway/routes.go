package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/gateway/admin"
	"github.com/patientaccess/gateway/gateway/dcr"
	"github.com/patientaccess/gateway/gateway/demoapp"
	"github.com/patientaccess/gateway/gateway/directory"
	"github.com/patientaccess/gateway/gateway/telemetry"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/gateway/web"
	"github.com/patientaccess/gateway/oauth"
)

// routes is the one list of everything the gateway serves, and the
// middleware around it.
func (g *Gateway) routes(logger *slog.Logger, pages *ui.UI, o *oauth.Server, f *fhir.Handler, a *admin.Handler, more ...mounter) http.Handler {
	mux := http.NewServeMux()
	pages.Mount(mux)
	o.Mount(mux)
	f.Mount(mux)
	a.Mount(mux)
	if g.registration != nil {
		g.registration.Mount(mux)
	}
	(&directory.Handler{Apps: g.Registry, Pages: pages, Logger: logger}).Mount(mux)
	for _, m := range more {
		m.Mount(mux)
	}
	if g.Config.Pprof {
		a.MountProfiling(mux)
	}
	if g.Demo != nil {
		(&demoapp.Handler{BaseURL: g.Config.BaseURL, ClientID: g.Demo.App.ClientID, Logger: logger, CSRF: g.csrf}).Mount(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", g.serveReady)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, oauth.PathAccount, http.StatusFound)
	})

	limited := web.LimitBodies(notFoundPage(mux, pages), bodyRules(o, pages))
	cors := &web.CORS{AllowedOrigin: g.appOrigin}
	var h http.Handler = corsFor(limited, cors.Wrap(limited), web.PublicCORS(limited))
	h = telemetry.Middleware(h, "gateway")
	h = (&web.Headers{HTTPS: isHTTPS(g.Config.BaseURL)}).Wrap(h)
	h = web.AccessLog(logger, h)
	return web.RequestIDDeadline(g.Config.RequestTimeout, h) // one copy of the request for both
}

// mounter is a part of the gateway that registers its own routes (the
// admin console, the developer portal).
type mounter interface{ Mount(mux *http.ServeMux) }

// MaxBodyBytes is the largest request body any form or JSON endpoint
// reads: every OAuth request, login and consent form and admin request is
// a small fraction of it.
const MaxBodyBytes = 64 << 10

// bodyRules picks what each route accepts as a body (web.LimitBodies): the
// OAuth endpoints and the HTML forms take urlencoded forms only, by spec;
// the admin API takes JSON; each refuses in its own error format. The
// FHIR API limits its own POST _search bodies and answers OperationOutcome.
func bodyRules(o *oauth.Server, pages *ui.UI) func(*http.Request) web.BodyRule {
	refusePage := func(w http.ResponseWriter, r *http.Request, status int, _ string) {
		p := ui.ProblemFormTooLarge
		if status != http.StatusRequestEntityTooLarge {
			p = ui.ProblemFormUnreadable
		}
		pages.Error(w, r, ui.ErrorView{Problem: p, Status: status})
	}
	oauthRule := web.BodyRule{MaxBytes: MaxBodyBytes, FormOnly: true, Refuse: o.RefuseRequest}
	formRule := web.BodyRule{MaxBytes: MaxBodyBytes, FormOnly: true, Refuse: refusePage}
	otherRule := web.BodyRule{MaxBytes: MaxBodyBytes, Refuse: refusePage}
	adminRule := web.BodyRule{MaxBytes: admin.MaxBodyBytes, Refuse: admin.RefuseRequest}
	return func(r *http.Request) web.BodyRule {
		p := r.URL.Path
		switch {
		case p == oauth.PathToken || p == oauth.PathRevoke || p == oauth.PathIntrospect:
			return oauthRule
		case p == oauth.PathAuthorize || p == oauth.PathLogin || p == oauth.PathLogout ||
			strings.HasPrefix(p, oauth.PathAccount+"/") || strings.HasPrefix(p, "/demo/") ||
			strings.HasPrefix(p, ui.PathConsole) || strings.HasPrefix(p, ui.PathPortal):
			return formRule
		case strings.HasPrefix(p, "/admin/"):
			return adminRule
		case p == dcr.Path || strings.HasPrefix(p, dcr.Path+"/"):
			return web.BodyRule{MaxBytes: MaxBodyBytes, Refuse: dcr.RefuseRequest}
		case strings.HasPrefix(p, "/fhir/"):
			return web.BodyRule{}
		default:
			return otherRule
		}
	}
}

// notFoundPage answers a path no route serves with the branded 404 page
// (a way on, the plan's contact), not Go's plain text; a path some route
// serves with another method still gets the mux's 405.
//
// A clean path under a prefix the mux serves whole, for every method
// (the FHIR API's "/fhir/", whose own handler answers what no other FHIR
// route does), always has a route, so it goes to the mux without the
// lookup that finds out: the mux matches every FHIR call's path once, not
// twice.
func notFoundPage(mux *http.ServeMux, pages *ui.UI) http.Handler {
	whole := servedWhole(mux, "/fhir/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !whole(r) {
			if _, pattern := mux.Handler(r); pattern == "" && !servedWithAnotherMethod(mux, r) {
				pages.NotFound(w, r)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// servedWhole returns a test of whether a request is for a clean path
// under prefix (a path ending in "/"), when mux serves every path under
// it for every method with one pattern, prefix itself; when it does not,
// the test is always false.
func servedWhole(mux *http.ServeMux, prefix string) func(*http.Request) bool {
	probe := &http.Request{Method: "PROPFIND", URL: &url.URL{Path: prefix + "x/y/z"}}
	if _, pattern := mux.Handler(probe); pattern != prefix {
		return func(*http.Request) bool { return false }
	}
	return func(r *http.Request) bool {
		if r.Method == http.MethodConnect { // the mux does not clean a CONNECT's path
			return false
		}
		p := r.URL.EscapedPath() // what the mux cleans and matches
		return strings.HasPrefix(p, prefix) && cleanPath(p) == p
	}
}

// cleanPath is net/http's: the canonical path for p, eliminating . and ..
// elements and keeping a trailing slash. The mux redirects a request
// whose path is not its own cleanPath.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		if len(p) == len(np)+1 && strings.HasPrefix(p, np) {
			np = p
		} else {
			np += "/"
		}
	}
	return np
}

// servedWithAnotherMethod reports whether a route serves r's path with
// some other method (the mux then answers 405 Method Not Allowed).
func servedWithAnotherMethod(mux *http.ServeMux, r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" {
			return true
		}
	}
	return false
}

// publicDocuments are the documents any page may read (CORS "*"): the
// discovery documents, the JWKS and the CapabilityStatement.
var publicDocuments = map[string]bool{
	"/fhir/.well-known/smart-configuration": true,
	"/.well-known/openid-configuration":     true,
	oauth.PathJWKS:                          true,
	"/fhir/metadata":                        true,
	directory.JSONPath:                      true,
}

// corsFor sends the public documents through public CORS, the rest of the
// browser-facing API (FHIR data, token, revocation) through CORS for the
// exact origins of approved apps, and everything else (pages, admin)
// straight on.
func corsFor(plain, withCORS, public http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case publicDocuments[p]:
			public.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/fhir/") || strings.HasPrefix(p, "/.well-known/") ||
			p == oauth.PathToken || p == oauth.PathRevoke:
			withCORS.ServeHTTP(w, r)
		default:
			plain.ServeHTTP(w, r)
		}
	})
}

// appOrigin allows the origins of approved apps' registered redirect URIs.
// With a store that versions its registry it looks the origin up in an
// index kept until the registry changes (the version is read on every
// request, so a suspension applies at once); otherwise it reads the whole
// registry.
func (g *Gateway) appOrigin(ctx context.Context, origin string) bool {
	if g.origins != nil {
		return g.origins.allowed(ctx, origin)
	}
	list, err := g.Store.ListApps(ctx)
	if err != nil {
		return false
	}
	return approvedOrigins(list)[origin]
}

// tokenChecker adapts the authorization server to the FHIR API's
// TokenChecker and LateChecker: a token whose claims it knows is confirmed
// in the store step that records the call (oauth.Server.ConfirmToken).
type tokenChecker struct {
	s     *oauth.Server
	audit storeAuditor
}

func (t tokenChecker) CheckToken(ctx context.Context, token string) (fhir.Access, error) {
	info, err := t.s.CheckToken(ctx, token)
	if err != nil {
		return fhir.Access{}, fhirTokenError(err)
	}
	return fhirAccess(info), nil
}

// PeekToken implements fhir.LateChecker.
func (t tokenChecker) PeekToken(token string) (fhir.Access, bool) {
	info, ok := t.s.PeekToken(token)
	return fhirAccess(info), ok
}

// CheckAndRecord implements fhir.LateChecker.
func (t tokenChecker) CheckAndRecord(ctx context.Context, token string, e fhir.Event) error {
	if err := t.s.ConfirmToken(ctx, token, t.audit.stamp(ctx, fhirEvent(e))); err != nil {
		return fhirTokenError(err)
	}
	t.audit.noteCall(ctx, e)
	return nil
}

// fhirTokenError is an oauth token check's error as the FHIR API knows it.
func fhirTokenError(err error) error {
	switch {
	case errors.Is(err, oauth.ErrInvalidToken):
		return fhir.ErrInvalidToken
	case errors.Is(err, oauth.ErrUnavailable):
		return fmt.Errorf("%w: %w", fhir.ErrUnavailable, err)
	}
	return err
}

func fhirAccess(info oauth.TokenInfo) fhir.Access {
	return fhir.Access{Patient: info.Patient, Scopes: info.Scopes, ClientID: info.ClientID, Member: info.Member, Sensitive: info.Sensitive}
}

func fhirEvent(e fhir.Event) apps.Event {
	return apps.Event{Action: e.Action, Outcome: e.Outcome, Member: e.Member, Patient: e.Patient,
		ClientID: e.ClientID, ResourceTypes: e.ResourceTypes, Count: e.Count, Reason: e.Reason, ClientIP: e.ClientIP}
}

// storeAuditor persists audit events, from the OAuth side and the FHIR side.
type storeAuditor struct {
	store apps.Store
	now   func() time.Time
	// calls notes when each app last called the FHIR API; nil notes nothing.
	calls *callNoter
}

// stamp gives an event its request id and, if it has none, its time.
func (a storeAuditor) stamp(ctx context.Context, e apps.Event) apps.Event {
	e.RequestID = web.RequestIDFrom(ctx)
	if e.Time.IsZero() {
		e.Time = a.now()
	}
	return e
}

// Record implements apps.Auditor.
func (a storeAuditor) Record(ctx context.Context, e apps.Event) error {
	return a.store.AppendEvent(ctx, a.stamp(ctx, e))
}

// RecordFHIR implements fhir.Auditor. A store that is unavailable is
// fhir.ErrUnavailable to the FHIR API.
func (a storeAuditor) RecordFHIR(ctx context.Context, e fhir.Event) error {
	err := a.Record(ctx, fhirEvent(e))
	if errors.Is(err, apps.ErrUnavailable) {
		return fmt.Errorf("%w: %w", fhir.ErrUnavailable, err)
	}
	if err == nil {
		a.noteCall(ctx, e)
	}
	return err
}

// noteCall notes a recorded successful FHIR call as its app's last.
func (a storeAuditor) noteCall(ctx context.Context, e fhir.Event) {
	if e.ClientID != "" && e.Outcome == "success" && a.calls != nil {
		a.calls.note(ctx, e.ClientID)
	}
}

// callNoter records when each app last called the FHIR API (shown to
// admins), writing to the store at most once a minute per app per
// replica, so the FHIR path pays for it rarely. A failed write is logged
// and never fails the request.
type callNoter struct {
	store  apps.Store
	now    func() time.Time
	logger *slog.Logger
	mu     sync.Mutex
	last   map[string]time.Time
}

// callNoteEvery is how stale the last-call time an admin sees may be.
const callNoteEvery = time.Minute

func (c *callNoter) note(ctx context.Context, clientID string) {
	now := c.now()
	c.mu.Lock()
	if c.last == nil {
		c.last = map[string]time.Time{}
	}
	if prev, ok := c.last[clientID]; ok && now.Sub(prev) < callNoteEvery {
		c.mu.Unlock()
		return
	}
	c.last[clientID] = now
	c.mu.Unlock()
	if err := c.store.NoteAppCall(ctx, clientID, now); err != nil {
		c.logger.WarnContext(ctx, "note the app's last API call", "client_id", clientID, "err", err)
	}
}

func deriveKey(secret, label string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(label))
	return m.Sum(nil)
}

func isHTTPS(base string) bool { return strings.HasPrefix(base, "https://") }
