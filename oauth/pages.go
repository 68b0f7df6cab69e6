package oauth

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
)

//go:embed templates/*.html
var templateFS embed.FS

// parsePages parses every page once, at start-up.
func parsePages() (*template.Template, error) {
	t, err := template.New("").ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse oauth templates: %w", err)
	}
	return t, nil
}

// render writes one page; it renders into a buffer first so that a template
// error becomes a clean 500, not half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.deps.Logger.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorPage struct {
	Title   string
	Message string
	Help    string // optional: whom to contact
}

// errorPage renders the readable error page used by every OAuth page.
func (s *Server) errorPage(w http.ResponseWriter, status int, title, message string) {
	s.render(w, status, "error.html", errorPage{Title: title, Message: message})
}

// Mount registers the authorization server's routes. Every handler runs
// with its storage failures recorded (watch), so that a request fosite
// refused because the store failed is answered as a failure.
func (s *Server) Mount(mux *http.ServeMux) {
	handle := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, watch(h)) }
	handle("GET /fhir/.well-known/smart-configuration", s.serveSMARTConfiguration)
	handle("GET /.well-known/openid-configuration", s.serveOpenIDConfiguration)
	handle("GET "+PathJWKS, s.serveJWKS)
	handle("GET /oauth/style.css", serveStyle)
	handle("GET "+PathAuthorize, s.serveAuthorize)
	handle("POST "+PathAuthorize, s.serveAuthorize)
	handle("POST "+PathToken, s.serveToken)
	handle("POST "+PathIntrospect, s.serveIntrospect)
	handle("POST "+PathRevoke, s.serveRevoke)
	handle("GET "+PathLogin, s.serveLoginForm)
	handle("POST "+PathLogin, s.serveLogin)
	handle("POST "+PathLogout, s.serveLogout)
	if s.plan != nil {
		handle("GET "+PathPlanSignIn, s.serveSignInStart)
		handle("GET "+PathPlanCallback, s.serveSignInCallback)
	}
	handle("GET "+PathAccount, s.serveAccount)
	handle("POST "+PathAccount+"/{client}/revoke", s.serveRevokeApp)
}

//go:embed style.css
var styleCSS []byte

func serveStyle(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(styleCSS)
}
