// Package portal is the developer portal: public documentation of
// everything an app needs to register and connect (CMS 42 CFR
// 422.119(d)), built from the live configuration; developer accounts
// (email and password, bcrypt-hashed); the registration form, which goes
// through the registry like every registration and lands pending; and each
// developer's own apps with their status and the reasons for any decision.
package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/gateway/devaccount"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/gateway/web"
	"github.com/patientaccess/gateway/oauth"
)

// The portal's paths.
const (
	PathHome    = ui.PathPortal
	PathSignIn  = "/developers/signin"
	PathSignUp  = "/developers/signup"
	PathSignOut = "/developers/signout"
	PathApps    = "/developers/apps"
	PathNewApp  = "/developers/apps/new"
)

// SessionLifetime bounds a developer's session.
const SessionLifetime = 8 * time.Hour

// Config is what the portal documents and how it behaves.
type Config struct {
	BaseURL     string
	FHIRBaseURL string
	// Sandbox are the demo members (demo mode only), and SandboxPassword
	// their password.
	Sandbox         []fhir.DemoMember
	SandboxPassword string
	// AutoApprove says apps whose automated checks pass are approved at once.
	AutoApprove bool
	// Secure marks cookies Secure with the __Host- prefix.
	Secure bool
}

// SessionStore keeps developer sessions; the store's member sessions
// serve, under ids of their own.
type SessionStore interface {
	PutSession(ctx context.Context, s oauth.LoginSession) error
	GetSession(ctx context.Context, id string) (oauth.LoginSession, error)
	DeleteSession(ctx context.Context, id string) error
}

// Deps is what the portal uses.
type Deps struct {
	Discovery Discovery
	Types     []*catalog.Type
	Registry  *apps.Registry
	Accounts  devaccount.Store
	Sessions  SessionStore
	// Limiter throttles sign-in attempts per address, with Limit, under
	// keys ThrottleKey makes.
	Limiter     oauth.Limiter
	Limit       oauth.Limit
	ThrottleKey func(email string) string
	CSRF        *web.CSRF
	UI          *ui.UI
	Logger      *slog.Logger
	Now         func() time.Time
}

// Handler serves the portal.
type Handler struct {
	cfg  Config
	deps Deps
}

// New builds the portal.
func New(cfg Config, deps Deps) (*Handler, error) {
	if deps.Discovery == nil || deps.Registry == nil || deps.Accounts == nil || deps.Sessions == nil || deps.CSRF == nil || deps.UI == nil {
		return nil, errors.New("portal: discovery, registry, accounts, sessions, CSRF and UI are required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, deps: deps}, nil
}

// Mount registers the portal's routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /developers", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, PathHome, http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET "+PathHome+"{$}", h.serveDocs)
	mux.HandleFunc("GET "+PathSignIn, h.serveSignInPage)
	mux.HandleFunc("POST "+PathSignIn, h.serveSignIn)
	mux.HandleFunc("POST "+PathSignUp, h.serveSignUp)
	mux.HandleFunc("POST "+PathSignOut, h.serveSignOut)
	mux.HandleFunc("GET "+PathApps, h.guard(h.serveApps))
	mux.HandleFunc("GET "+PathNewApp, h.guard(h.serveNewApp))
	mux.HandleFunc("POST "+PathApps, h.guard(h.serveRegister))
	mux.HandleFunc("GET "+PathApps+"/{client}", h.guard(h.serveApp))
}

func (h *Handler) cookieName() string {
	if h.cfg.Secure {
		return "__Host-pag_developer"
	}
	return "pag_developer"
}

// sessionID is the stored id of a developer cookie value, under a label
// of its own so no member or console cookie names a developer session.
func sessionID(cookie string) string {
	sum := sha256.Sum256([]byte("developer-session\x00" + cookie))
	return "developer-" + hex.EncodeToString(sum[:])
}

func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, a devaccount.Account) error {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	value := base64.RawURLEncoding.EncodeToString(raw)
	now := h.deps.Now()
	ls := oauth.LoginSession{ID: sessionID(value), Member: a.Email, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime)}
	if err := h.deps.Sessions.PutSession(r.Context(), ls); err != nil {
		return fmt.Errorf("store developer session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(), Value: value, Path: "/", HttpOnly: true,
		Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// current returns the signed-in developer; ok is false when nobody is.
func (h *Handler) current(r *http.Request) (devaccount.Account, bool, error) {
	c, err := r.Cookie(h.cookieName())
	if err != nil || c.Value == "" {
		return devaccount.Account{}, false, nil
	}
	ls, err := h.deps.Sessions.GetSession(r.Context(), sessionID(c.Value))
	switch {
	case errors.Is(err, oauth.ErrNotFound):
		return devaccount.Account{}, false, nil
	case err != nil:
		return devaccount.Account{}, false, err
	case !h.deps.Now().Before(ls.ExpiresAt):
		return devaccount.Account{}, false, nil
	}
	a, err := h.deps.Accounts.GetDeveloper(r.Context(), ls.Member)
	if errors.Is(err, devaccount.ErrNotFound) {
		return devaccount.Account{}, false, nil
	}
	return a, err == nil, err
}

// devNav is the navigation: the signed-in developer, if any.
func (h *Handler) devNav(w http.ResponseWriter, r *http.Request) ui.DevNav {
	a, ok, err := h.current(r)
	if err != nil || !ok {
		return ui.DevNav{}
	}
	return ui.DevNav{Email: a.Email, CSRF: h.deps.CSRF.Token(w, r)}
}

// guard runs next for a signed-in developer; a form post must carry the
// anti-forgery token. Nobody signed in goes to the sign-in page.
func (h *Handler) guard(next func(http.ResponseWriter, *http.Request, devaccount.Account)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok, err := h.current(r)
		switch {
		case err != nil:
			h.failed(w, r, ui.DevNav{}, err)
			return
		case !ok && r.Method == http.MethodGet:
			http.Redirect(w, r, PathSignIn, http.StatusSeeOther)
			return
		case !ok:
			h.message(w, r, http.StatusUnauthorized, ui.DevNav{}, "Sign in first", "Your session has ended. Sign in again.", true)
			return
		}
		nav := ui.DevNav{Email: a.Email, CSRF: h.deps.CSRF.Token(w, r)}
		if r.Method == http.MethodPost {
			if err := h.deps.CSRF.Verify(r); err != nil {
				h.message(w, r, http.StatusForbidden, nav, "This form has expired",
					"For your security the request was not accepted. Go back, reload the page and try again.", false)
				return
			}
		}
		next(w, r, a)
	}
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, nav ui.DevNav, title, msg string, signIn bool) {
	h.deps.UI.PortalMessage(w, r, status, nav, ui.PortalMessageView{Title: title, Message: msg, SignIn: signIn})
}

// failed answers a store failure: 503 with Retry-After when the store
// cannot be reached; the cause goes to the log only.
func (h *Handler) failed(w http.ResponseWriter, r *http.Request, nav ui.DevNav, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, apps.ErrUnavailable) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	h.deps.Logger.ErrorContext(r.Context(), "developer portal request failed", "path", r.URL.Path, "err", err)
	h.message(w, r, status, nav, "Something went wrong", "Nothing was changed. Try again in a moment.", false)
}

// actor is the developer as the app history records them.
func actor(a devaccount.Account) apps.Actor {
	return apps.Actor{Kind: apps.ActorDeveloper, ID: a.ID, Name: a.Organisation}
}
