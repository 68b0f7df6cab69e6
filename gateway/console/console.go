package console

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/gateway/web"
	"github.com/patientaccess/gateway/oauth"
	"github.com/patientaccess/gateway/oauth/oidcrp"
)

// The console's paths. PathCallback is the redirect URI to register at the
// plan's provider, beside the members' one.
const (
	PathHome     = ui.PathConsole
	PathSignIn   = "/console/signin"
	PathSignOIDC = "/console/signin/oidc"
	PathCallback = "/console/signin/oidc/callback"
	PathSignOut  = "/console/signout"
)

// DefaultSessionLifetime is how long a console session lasts at most.
const DefaultSessionLifetime = 8 * time.Hour

// Account is a local console account (the demo's): a username, a bcrypt
// hash of its password and a role.
type Account struct {
	Username     string
	PasswordHash string
	Role         Role
}

// Config is how people sign in to the console.
type Config struct {
	// OIDC, when set, signs people in through the plan's provider; its
	// RedirectURL must be {base}PathCallback and its StateCookie differ
	// from the members'. Roles then says who is an admin or a reviewer.
	OIDC  *oidcrp.Config
	Roles RoleMapping
	// Accounts are local accounts (demo mode seeds one admin and one
	// reviewer).
	Accounts []Account
	// Secure marks the cookies Secure and gives them the __Host- prefix.
	Secure bool
	// SessionLifetime bounds a session; DefaultSessionLifetime if zero.
	SessionLifetime time.Duration
	// AutoApprove says the registry approves apps whose automated checks
	// all pass (shown on the queue).
	AutoApprove bool
}

// Deps is what the console uses.
type Deps struct {
	Registry *apps.Registry
	Store    apps.Store
	Sessions SessionStore
	// Limiter throttles local sign-in attempts per username, with Limit.
	Limiter oauth.Limiter
	Limit   oauth.Limit
	// ThrottleKey names a username's throttle key without revealing it.
	ThrottleKey func(username string) string
	CSRF        *web.CSRF
	UI          *ui.UI
	Audit       apps.Auditor
	Logger      *slog.Logger
	Now         func() time.Time
}

// Handler serves the console.
type Handler struct {
	cfg      Config
	deps     Deps
	rp       *oidcrp.RP
	accounts map[string]Account
}

// New builds the console. A configuration with neither a provider nor a
// local account leaves nobody able to sign in: the sign-in page says so.
func New(cfg Config, deps Deps) (*Handler, error) {
	if deps.Registry == nil || deps.Store == nil || deps.Sessions == nil || deps.CSRF == nil || deps.UI == nil {
		return nil, errors.New("console: registry, store, sessions, CSRF and UI are required")
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = DefaultSessionLifetime
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, deps: deps, accounts: map[string]Account{}}
	for _, a := range cfg.Accounts {
		if !a.Role.valid() || a.Username == "" || a.PasswordHash == "" {
			return nil, errors.New("console: a local account needs a username, a password hash and a role")
		}
		h.accounts[a.Username] = a
	}
	if cfg.OIDC != nil {
		if cfg.Roles.Claim == "" {
			return nil, errors.New("console: provider sign-in needs the role claim")
		}
		h.rp = oidcrp.New(*cfg.OIDC)
	}
	return h, nil
}

func (h *Handler) now() time.Time { return h.deps.Now() }

// Mount registers the console's routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathSignIn, h.serveSignInPage)
	mux.HandleFunc("POST "+PathSignIn, h.serveLocalSignIn)
	if h.rp != nil {
		mux.HandleFunc("GET "+PathSignOIDC, h.serveOIDCStart)
		mux.HandleFunc("GET "+PathCallback, h.serveOIDCCallback)
	}
	mux.HandleFunc("POST "+PathSignOut, h.serveSignOut)
	h.mountPages(mux)
}

// guard runs next for a signed-in person (a decider when decide is set):
// nobody signed in goes to the sign-in page (and back after); a reviewer
// asking to decide gets 403. A form post is checked for its anti-forgery
// token first.
func (h *Handler) guard(decide bool, next func(http.ResponseWriter, *http.Request, Person)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok, err := h.current(r)
		switch {
		case err != nil:
			h.unavailable(w, r, nil, err)
			return
		case !ok && r.Method == http.MethodGet:
			http.Redirect(w, r, PathSignIn+"?return_to="+queryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		case !ok:
			h.message(w, r, http.StatusUnauthorized, nil, "Sign in first",
				"Your console session has ended. Sign in again, then repeat what you were doing.", true)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := h.deps.CSRF.Verify(r); err != nil {
				h.message(w, r, http.StatusForbidden, h.nav(w, r, p), "This form has expired",
					"For your security the request was not accepted. Go back, reload the page and try again.", false)
				return
			}
		}
		if decide && !p.CanDecide() {
			h.message(w, r, http.StatusForbidden, h.nav(w, r, p), "Only admins decide",
				"You are signed in as a reviewer: you can read every app and run the checks, but approving, denying, suspending and reinstating are for admins.", false)
			return
		}
		next(w, r, p)
	}
}

// nav is the person's navigation bar (with the sign-out form's token).
func (h *Handler) nav(w http.ResponseWriter, r *http.Request, p Person) *ui.StaffNav {
	return &ui.StaffNav{Who: p.ID, Role: string(p.Role), CSRF: h.deps.CSRF.Token(w, r)}
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, nav *ui.StaffNav, title, msg string, signIn bool) {
	h.deps.UI.ConsoleMessage(w, r, status, nav, ui.ConsoleMessageView{Title: title, Message: msg, SignIn: signIn})
}

// unavailable answers a store failure: 503 with Retry-After when the store
// cannot be reached, 500 otherwise; the cause goes to the log only.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, nav *ui.StaffNav, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, apps.ErrUnavailable) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	h.deps.Logger.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "err", err)
	h.message(w, r, status, nav, "Something went wrong",
		"The console could not reach its store. Nothing was changed; try again in a moment.", nav == nil)
}

// audit records a console event; a failed write is logged, the action stands.
func (h *Handler) audit(r *http.Request, e apps.Event) {
	if h.deps.Audit == nil {
		return
	}
	if err := h.deps.Audit.Record(r.Context(), e); err != nil {
		h.deps.Logger.ErrorContext(r.Context(), "console event not audited", "action", e.Action, "err", err)
	}
}
