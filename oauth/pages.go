package oauth

import (
	"errors"
	"net/http"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
)

// problem renders the branded error page: what went wrong and what the
// member can do next.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, status int, p ui.Problem) {
	s.deps.UI.Error(w, r, ui.ErrorView{Problem: p, Status: status})
}

// Mount registers the authorization server's routes. Every handler runs
// with its storage failures recorded (watch), so that a request fosite
// refused because the store failed is answered as a failure.
func (s *Server) Mount(mux *http.ServeMux) {
	handle := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, watch(h)) }
	handle("GET /fhir/.well-known/smart-configuration", s.serveSMARTConfiguration)
	handle("GET /.well-known/openid-configuration", s.serveOpenIDConfiguration)
	handle("GET "+PathJWKS, s.serveJWKS)
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
	handle("GET "+PathAccount+"/{client}/revoke", s.serveRevokeConfirm)
	handle("POST "+PathAccount+"/{client}/revoke", s.serveRevokeApp)
	handle("GET "+PathAccount+"/{client}/history", s.serveHistory)
	handle("GET "+PathAccount+"/{client}/history.csv", s.serveHistoryCSV)
	handle("GET "+PathAccount+"/{client}/history.json", s.serveHistoryJSON)
	handle("GET "+PathAppLogo, s.serveAppLogo)
}

// PathAppLogo serves the logo an app registered, from the gateway's own
// origin: the consent page loads nothing from the app's servers.
const PathAppLogo = "/apps/{client}/logo.png"

func appLogoURL(a apps.App) string {
	if !a.HasLogo {
		return ""
	}
	return "/apps/" + a.ClientID + "/logo.png"
}

func (s *Server) serveAppLogo(w http.ResponseWriter, r *http.Request) {
	png, err := s.deps.Apps.GetAppLogo(r.Context(), r.PathValue("client"))
	switch {
	case errors.Is(err, apps.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		s.deps.Logger.ErrorContext(r.Context(), "load app logo", "err", err)
		setRetryAfter(w)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, _ = w.Write(png)
}
