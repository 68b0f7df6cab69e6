package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth"
	"github.com/patientaccess/gateway/oauth/oidcrp"
)

// dummyHash is compared against for an unknown username, so that it takes
// as long as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such console account"), bcrypt.DefaultCost)

// HashPassword returns the stored form of a local account's password.
func HashPassword(password string) (string, error) { return oauth.HashPassword(password) }

func queryEscape(s string) string { return url.QueryEscape(s) }

// returnTo keeps a console path to go back to after signing in.
func returnTo(p string) string {
	if !strings.HasPrefix(p, "/console/") || strings.HasPrefix(p, PathSignIn) ||
		strings.ContainsFunc(p, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '\\' }) {
		return PathHome
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" {
		return PathHome
	}
	return p
}

func (h *Handler) signInView(w http.ResponseWriter, r *http.Request, ret string) ui.ConsoleSignInView {
	v := ui.ConsoleSignInView{CSRF: h.deps.CSRF.Token(w, r), ReturnTo: ret, Local: len(h.accounts) > 0}
	if h.rp != nil {
		v.PlanURL = PathSignOIDC + "?return_to=" + queryEscape(ret)
	}
	return v
}

func (h *Handler) serveSignInPage(w http.ResponseWriter, r *http.Request) {
	h.deps.UI.ConsoleSignIn(w, r, http.StatusOK, h.signInView(w, r, returnTo(r.URL.Query().Get("return_to"))))
}

// serveLocalSignIn signs a local account in: throttled per username (known
// or not), the password compared with bcrypt.
func (h *Handler) serveLocalSignIn(w http.ResponseWriter, r *http.Request) {
	if err := h.deps.CSRF.Verify(r); err != nil {
		h.message(w, r, http.StatusForbidden, nil, "This form has expired",
			"For your security the request was not accepted. Go back, reload the page and try again.", true)
		return
	}
	ret := returnTo(r.PostFormValue("return_to"))
	username := strings.TrimSpace(r.PostFormValue("username"))
	if len(h.accounts) == 0 {
		h.message(w, r, http.StatusForbidden, nil, "Local accounts are off",
			"Sign in with the plan's identity provider.", true)
		return
	}
	if h.deps.Limiter != nil && h.deps.ThrottleKey != nil {
		wait, err := h.deps.Limiter.Allow(r.Context(), h.deps.ThrottleKey(strings.ToLower(username)), h.deps.Limit)
		if err != nil {
			h.unavailable(w, r, nil, err)
			return
		}
		if wait > 0 {
			secs := int(wait.Seconds()) + 1
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			v := h.signInView(w, r, ret)
			v.Username, v.Error = username, "Too many attempts for this account. Wait "+strconv.Itoa((secs+59)/60)+" minute(s) and try again."
			h.deps.UI.ConsoleSignIn(w, r, http.StatusTooManyRequests, v)
			return
		}
	}
	acct, known := h.accounts[username]
	hash := dummyHash
	if known {
		hash = []byte(acct.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(r.PostFormValue("password"))) != nil || !known {
		h.audit(r, apps.Event{Action: "admin.signin", Outcome: "denied", Reason: "bad username or password"})
		v := h.signInView(w, r, ret)
		v.Username, v.Error = username, "The username or password is not right."
		h.deps.UI.ConsoleSignIn(w, r, http.StatusUnauthorized, v)
		return
	}
	h.signedIn(w, r, Person{ID: "local:" + acct.Username, Role: acct.Role}, ret, "local account")
}

// signedIn starts the session and goes on.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, p Person, ret, how string) {
	if err := h.startSession(w, r, p); err != nil {
		h.unavailable(w, r, nil, err)
		return
	}
	h.audit(r, apps.Event{Action: "admin.signin", Outcome: "success", Actor: p.Actor().String(),
		Reason: "as " + string(p.Role) + " with " + how})
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

func (h *Handler) serveOIDCStart(w http.ResponseWriter, r *http.Request) {
	u, err := h.rp.Start(r.Context(), w, returnTo(r.URL.Query().Get("return_to")))
	if err != nil {
		h.refuseOIDC(w, r, err, "")
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// serveOIDCCallback finishes a sign-in through the provider: the relying
// party checks the answer and the id_token; the role comes from the
// configured claim. The person is named by the provider's subject, never
// their name.
func (h *Handler) serveOIDCCallback(w http.ResponseWriter, r *http.Request) {
	idt, ret, err := h.rp.Finish(w, r)
	if err != nil {
		h.refuseOIDC(w, r, err, "")
		return
	}
	if !oidcrp.ValidSubject(idt.Subject) {
		h.refuseOIDC(w, r, errors.New("sub missing or not printable ASCII"), "")
		return
	}
	id := oauth.MemberKey(h.cfg.OIDC.Issuer, idt.Subject)
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		h.refuseOIDC(w, r, err, id)
		return
	}
	role, ok := h.cfg.Roles.role(claims)
	if !ok {
		h.audit(r, apps.Event{Action: "admin.signin", Outcome: "denied", Actor: apps.Actor{Kind: apps.ActorAdmin, ID: id}.String(),
			Reason: "no console role in claim " + h.cfg.Roles.Claim})
		h.message(w, r, http.StatusForbidden, nil, "No access to the admin console",
			"You signed in, but your account has neither the admin nor the reviewer role for the console. Ask whoever manages access at the plan.", false)
		return
	}
	h.signedIn(w, r, Person{ID: id, Role: role}, ret, "the plan's provider")
}

// refuseOIDC shows why a sign-in through the provider failed and audits it.
func (h *Handler) refuseOIDC(w http.ResponseWriter, r *http.Request, err error, id string) {
	reason, status := "sign-in failed", http.StatusBadGateway
	title, msg := "Sign-in failed", "The plan's identity provider did not complete the sign-in. Try again."
	var rerr *oidcrp.Error
	if errors.As(err, &rerr) {
		reason = rerr.Reason
		switch rerr.Kind {
		case oidcrp.KindUnreachable:
			status, msg = http.StatusServiceUnavailable, "The plan's identity provider cannot be reached right now. Try again in a few minutes."
			w.Header().Set("Retry-After", "30")
		case oidcrp.KindState, oidcrp.KindNonce, oidcrp.KindForeign:
			status, msg = http.StatusBadRequest, "This sign-in expired or was started in another browser. Start again from the sign-in page."
		case oidcrp.KindCancelled:
			status, msg = http.StatusUnauthorized, "The sign-in was cancelled or refused at the identity provider."
		}
	}
	h.deps.Logger.WarnContext(r.Context(), "console sign-in refused", "reason", reason, "err", err)
	e := apps.Event{Action: "admin.signin", Outcome: "denied", Reason: reason}
	if id != "" {
		e.Actor = apps.Actor{Kind: apps.ActorAdmin, ID: id}.String()
	}
	h.audit(r, e)
	h.message(w, r, status, nil, title, msg, true)
}

func (h *Handler) serveSignOut(w http.ResponseWriter, r *http.Request) {
	if err := h.deps.CSRF.Verify(r); err != nil {
		h.message(w, r, http.StatusForbidden, nil, "This form has expired",
			"For your security the request was not accepted. Go back, reload the page and try again.", false)
		return
	}
	h.endSession(w, r)
	http.Redirect(w, r, PathSignIn, http.StatusSeeOther)
}
