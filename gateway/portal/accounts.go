package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/patientaccess/gateway/gateway/devaccount"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth"
)

// MinPasswordLength is the shortest password a developer account takes.
const MinPasswordLength = 12

// dummyHash is compared against for an unknown address, so that it takes
// as long as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such developer"), bcrypt.DefaultCost)

func (h *Handler) signInView(w http.ResponseWriter, r *http.Request) ui.PortalSignInView {
	return ui.PortalSignInView{CSRF: h.deps.CSRF.Token(w, r), MinPassword: MinPasswordLength}
}

func (h *Handler) serveSignInPage(w http.ResponseWriter, r *http.Request) {
	h.deps.UI.PortalSignIn(w, r, http.StatusOK, h.devNav(w, r), h.signInView(w, r))
}

func (h *Handler) verifyForm(w http.ResponseWriter, r *http.Request) bool {
	if err := h.deps.CSRF.Verify(r); err != nil {
		h.message(w, r, http.StatusForbidden, ui.DevNav{}, "This form has expired",
			"For your security the request was not accepted. Go back, reload the page and try again.", true)
		return false
	}
	return true
}

// serveSignUp creates an account and signs it in.
func (h *Handler) serveSignUp(w http.ResponseWriter, r *http.Request) {
	if !h.verifyForm(w, r) {
		return
	}
	v := h.signInView(w, r)
	v.Email, v.Name, v.Organisation = strings.TrimSpace(r.PostFormValue("email")), strings.TrimSpace(r.PostFormValue("name")),
		strings.TrimSpace(r.PostFormValue("organisation"))
	email := devaccount.NormalizeEmail(v.Email)
	password := r.PostFormValue("password")
	var problems []string
	if email == "" {
		problems = append(problems, "Give one email address, such as dev@app.example.")
	}
	if utf8.RuneCountInString(password) < MinPasswordLength || len(password) > 72 {
		problems = append(problems, "The password must be "+strconv.Itoa(MinPasswordLength)+" to 72 characters long.")
	}
	if v.Organisation == "" || len(v.Organisation) > 200 || len(v.Name) > 200 {
		problems = append(problems, "Give your organisation's name (at most 200 characters).")
	}
	if len(problems) > 0 {
		v.SignUpErrors = problems
		h.deps.UI.PortalSignIn(w, r, http.StatusBadRequest, ui.DevNav{}, v)
		return
	}
	hash, err := oauth.HashPassword(password)
	if err != nil {
		h.failed(w, r, ui.DevNav{}, err)
		return
	}
	a := devaccount.Account{ID: devaccount.IDFor(email), Email: email, Name: v.Name, Organisation: v.Organisation,
		PasswordHash: hash, CreatedAt: h.deps.Now()}
	switch err := h.deps.Accounts.CreateDeveloper(r.Context(), a); {
	case errors.Is(err, devaccount.ErrExists):
		v.SignUpErrors = []string{"An account with that email address exists: sign in instead."}
		h.deps.UI.PortalSignIn(w, r, http.StatusConflict, ui.DevNav{}, v)
		return
	case err != nil:
		h.failed(w, r, ui.DevNav{}, err)
		return
	}
	if err := h.startSession(w, r, a); err != nil {
		h.failed(w, r, ui.DevNav{}, err)
		return
	}
	http.Redirect(w, r, PathApps, http.StatusSeeOther)
}

// serveSignIn signs a developer in: throttled per address (known or not),
// the password compared with bcrypt.
func (h *Handler) serveSignIn(w http.ResponseWriter, r *http.Request) {
	if !h.verifyForm(w, r) {
		return
	}
	v := h.signInView(w, r)
	v.SignInEmail = strings.TrimSpace(r.PostFormValue("email"))
	email := devaccount.NormalizeEmail(v.SignInEmail)
	if h.deps.Limiter != nil && h.deps.ThrottleKey != nil {
		wait, err := h.deps.Limiter.Allow(r.Context(), h.deps.ThrottleKey(email), h.deps.Limit)
		if err != nil {
			h.failed(w, r, ui.DevNav{}, err)
			return
		}
		if wait > 0 {
			secs := int(wait.Seconds()) + 1
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			v.SignInError = "Too many attempts for this account. Wait " + strconv.Itoa((secs+59)/60) + " minute(s) and try again."
			h.deps.UI.PortalSignIn(w, r, http.StatusTooManyRequests, ui.DevNav{}, v)
			return
		}
	}
	a, err := h.deps.Accounts.GetDeveloper(r.Context(), email)
	hash := dummyHash
	switch {
	case err == nil:
		hash = []byte(a.PasswordHash)
	case !errors.Is(err, devaccount.ErrNotFound):
		h.failed(w, r, ui.DevNav{}, err)
		return
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(r.PostFormValue("password"))) != nil || err != nil {
		v.SignInError = "The email address or password is not right."
		h.deps.UI.PortalSignIn(w, r, http.StatusUnauthorized, ui.DevNav{}, v)
		return
	}
	if err := h.startSession(w, r, a); err != nil {
		h.failed(w, r, ui.DevNav{}, err)
		return
	}
	http.Redirect(w, r, PathApps, http.StatusSeeOther)
}

func (h *Handler) serveSignOut(w http.ResponseWriter, r *http.Request) {
	if !h.verifyForm(w, r) {
		return
	}
	if c, err := r.Cookie(h.cookieName()); err == nil && c.Value != "" {
		if err := h.deps.Sessions.DeleteSession(r.Context(), sessionID(c.Value)); err != nil {
			h.deps.Logger.ErrorContext(r.Context(), "end developer session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, PathHome, http.StatusSeeOther)
}
