package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/patientaccess/gateway/gateway/ui"
)

// HashPassword returns the stored form of a member's password (bcrypt).
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when the username is unknown, so that a
// wrong username takes as long as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such member"), bcrypt.DefaultCost)

func (s *Server) cookieName() string {
	if s.secure() {
		return "__Host-pag_session"
	}
	return "pag_session"
}

func (s *Server) secure() bool { return strings.HasPrefix(s.cfg.Issuer, "https://") }

// sessionID is the stored id of a cookie value: the value itself is never stored.
func sessionID(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// CurrentMember returns the signed-in member of a request. ok is false
// when nobody is signed in (no cookie, an unknown or expired session); err
// is set instead when the store failed, so that nobody is sent to sign in
// again because of an outage.
func (s *Server) CurrentMember(r *http.Request) (m Member, ok bool, err error) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return Member{}, false, nil
	}
	ls, err := s.deps.Storage.GetSession(r.Context(), sessionID(c.Value))
	if errors.Is(err, ErrNotFound) || err == nil && !s.now().Before(ls.ExpiresAt) {
		return Member{}, false, nil
	}
	if err != nil {
		return Member{}, false, fmt.Errorf("load member session: %w", err)
	}
	return s.sessionMember(r.Context(), ls.Member)
}

// localPath accepts only a path on this server as a post-login destination
// (no scheme, no host, no "//" or "\" tricks), so login cannot be used as an
// open redirect.
func localPath(p string) (string, bool) {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsRune(p, '\\') {
		return "", false
	}
	// Browsers drop tabs and newlines from URLs, so "/\t/evil" would become
	// "//evil": refuse every control character.
	if strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", false
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "", false
	}
	return p, true
}

// newLoginPage is the login page's data for a member going to ret.
func (s *Server) newLoginPage(w http.ResponseWriter, r *http.Request, ret string) ui.LoginView {
	p := ui.LoginView{CSRF: s.deps.CSRF.Token(w, r), ReturnTo: ret, Local: !s.cfg.LocalLoginDisabled}
	if s.cfg.PlanSignIn != nil {
		p.PlanURL = PathPlanSignIn + "?return_to=" + url.QueryEscape(ret)
	}
	return p
}

func (s *Server) serveLoginForm(w http.ResponseWriter, r *http.Request) {
	ret, ok := localPath(r.URL.Query().Get("return_to"))
	if !ok {
		ret = PathAccount
	}
	s.deps.UI.Login(w, r, http.StatusOK, s.newLoginPage(w, r, ret))
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	if s.cfg.LocalLoginDisabled {
		s.problem(w, r, http.StatusForbidden, ui.ProblemPasswordOff)
		return
	}
	if err := s.deps.CSRF.Verify(r); err != nil {
		s.problem(w, r, http.StatusForbidden, ui.ProblemFormExpired)
		return
	}
	ret, ok := localPath(r.PostFormValue("return_to"))
	if !ok {
		ret = PathAccount
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	if s.loginThrottled(w, r, username, ret) {
		return
	}
	m, err := s.authenticate(r.Context(), username, r.PostFormValue("password"))
	if err != nil && !errors.Is(err, errBadLogin) {
		s.failPage(w, r, "member sign-in", err, ui.ProblemSignInFailed)
		return
	}
	if err != nil {
		s.deps.Logger.InfoContext(r.Context(), "member sign-in failed")
		p := s.newLoginPage(w, r, ret)
		p.Username, p.Error = username, ui.M(ui.MsgLoginMismatch)
		s.deps.UI.Login(w, r, http.StatusUnauthorized, p)
		return
	}
	if err := s.startSession(w, r, m); err != nil {
		s.failPage(w, r, "start member session", err, ui.ProblemSignInFailed)
		return
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

// loginThrottled counts a sign-in attempt against the username (known or
// not, so the answer never tells whether an account exists) and, when the
// account has used its allowance, answers 429 with Retry-After and the
// login page saying how long to wait. The password is not even checked.
func (s *Server) loginThrottled(w http.ResponseWriter, r *http.Request, username, ret string) bool {
	ctx := r.Context()
	wait, err := s.deps.Storage.Allow(ctx, s.throttleKey(throttleLogin, strings.ToLower(username)), s.cfg.LoginLimit)
	switch {
	case err != nil:
		s.deps.Logger.ErrorContext(ctx, "throttle check failed", "err", err)
		w.Header().Set("Retry-After", "5")
		s.problem(w, r, http.StatusServiceUnavailable, ui.ProblemSignInUnavailable)
		return true
	case wait <= 0:
		return false
	}
	s.deps.Logger.InfoContext(ctx, "member sign-in throttled", "retry_after_s", retryAfterSeconds(wait))
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
	p := s.newLoginPage(w, r, ret)
	p.Username, p.Error = username, waitMessage(wait)
	s.deps.UI.Login(w, r, http.StatusTooManyRequests, p)
	return true
}

// waitMessage says how long to wait, in whole minutes rounded up.
func waitMessage(d time.Duration) *ui.Msg {
	n := int(math.Ceil(d.Minutes()))
	if n <= 1 {
		return ui.M(ui.MsgLoginThrottledMinute)
	}
	return ui.M(ui.MsgLoginThrottled, "minutes", n)
}

var errBadLogin = errors.New("bad username or password")

func (s *Server) authenticate(ctx context.Context, username, password string) (Member, error) {
	m, err := s.deps.Storage.GetMember(ctx, username)
	if errors.Is(err, ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return Member{}, errBadLogin
	}
	if err != nil {
		return Member{}, fmt.Errorf("load member: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(m.PasswordHash), []byte(password)) != nil {
		return Member{}, errBadLogin
	}
	return m, nil
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, m Member) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("session id: %w", err)
	}
	value := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	ls := LoginSession{ID: sessionID(value), Member: m.Username, CreatedAt: now, ExpiresAt: now.Add(s.cfg.LoginLifespan)}
	if err := s.deps.Storage.PutSession(r.Context(), ls); err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	// A session cookie (no Max-Age): it ends with the browser; the server
	// ends the session after LoginLifespan in any case.
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: value, Path: "/", HttpOnly: true,
		Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.deps.CSRF.Verify(r); err != nil {
		s.problem(w, r, http.StatusForbidden, ui.ProblemFormExpired)
		return
	}
	if c, err := r.Cookie(s.cookieName()); err == nil {
		if err := s.deps.Storage.DeleteSession(r.Context(), sessionID(c.Value)); err != nil {
			s.deps.Logger.ErrorContext(r.Context(), "end member session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: s.secure(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, PathLogin, http.StatusSeeOther)
}
