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

// Mount registers the authorization server's routes.
func (s *Server) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /fhir/.well-known/smart-configuration", s.serveSMARTConfiguration)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serveOpenIDConfiguration)
	mux.HandleFunc("GET "+PathJWKS, s.serveJWKS)
	mux.HandleFunc("GET /oauth/style.css", serveStyle)
	mux.HandleFunc("GET "+PathAuthorize, s.serveAuthorize)
	mux.HandleFunc("POST "+PathAuthorize, s.serveAuthorize)
	mux.HandleFunc("POST "+PathToken, s.serveToken)
	mux.HandleFunc("POST "+PathIntrospect, s.serveIntrospect)
	mux.HandleFunc("POST "+PathRevoke, s.serveRevoke)
	mux.HandleFunc("GET "+PathLogin, s.serveLoginForm)
	mux.HandleFunc("POST "+PathLogin, s.serveLogin)
	mux.HandleFunc("POST "+PathLogout, s.serveLogout)
	if s.plan != nil {
		mux.HandleFunc("GET "+PathPlanSignIn, s.serveSignInStart)
		mux.HandleFunc("GET "+PathPlanCallback, s.serveSignInCallback)
	}
	mux.HandleFunc("GET "+PathAccount, s.serveAccount)
	mux.HandleFunc("POST "+PathAccount+"/{client}/revoke", s.serveRevokeApp)
}

//go:embed style.css
var styleCSS []byte

func serveStyle(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(styleCSS)
}
