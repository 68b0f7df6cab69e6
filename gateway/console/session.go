package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// Role is what a person may do in the console.
type Role string

// The roles. A reviewer reads everything and runs the checks; only an
// admin decides.
const (
	RoleAdmin    Role = "admin"
	RoleReviewer Role = "reviewer"
)

func (r Role) valid() bool { return r == RoleAdmin || r == RoleReviewer }

// Person is someone signed in to the console.
type Person struct {
	// ID names the person for good, as the audit trail and the history
	// record them: "oidc:{issuer hash}:{sub}" through the provider (never
	// a name), "local:{username}" for a local account.
	ID   string
	Role Role
}

// Actor is the person as the app history records them.
func (p Person) Actor() apps.Actor { return apps.Actor{Kind: apps.ActorAdmin, ID: p.ID} }

// CanDecide reports whether the person may approve, deny, suspend or
// reinstate apps.
func (p Person) CanDecide() bool { return p.Role == RoleAdmin }

// SessionStore keeps console sessions until they expire; the store's
// member sessions serve, under ids of their own (see sessionID).
type SessionStore interface {
	PutSession(ctx context.Context, s oauth.LoginSession) error
	GetSession(ctx context.Context, id string) (oauth.LoginSession, error)
	DeleteSession(ctx context.Context, id string) error
}

// sessionID is the stored id of a console cookie value: a hash of the
// value under a label of its own, so that no member cookie names a
// console session and no console cookie a member's.
func sessionID(cookie string) string {
	sum := sha256.Sum256([]byte("console-session\x00" + cookie))
	return "console-" + hex.EncodeToString(sum[:])
}

// cookieName is the console session cookie's name.
func (h *Handler) cookieName() string {
	if h.cfg.Secure {
		return "__Host-pag_console"
	}
	return "pag_console"
}

// encodeSession and decodeSession keep the person in the stored session's
// Member field: "role id".
func encodeSession(p Person) string { return string(p.Role) + " " + p.ID }

func decodeSession(s string) (Person, bool) {
	role, id, ok := strings.Cut(s, " ")
	if !ok || !Role(role).valid() || id == "" {
		return Person{}, false
	}
	return Person{ID: id, Role: Role(role)}, true
}

// startSession stores a new session for p and sets its cookie: a session
// cookie (no Max-Age, so it ends with the browser), HttpOnly, Secure on
// https, SameSite=Lax (the provider's redirect back must carry it on).
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, p Person) error {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	value := base64.RawURLEncoding.EncodeToString(raw)
	now := h.now()
	ls := oauth.LoginSession{ID: sessionID(value), Member: encodeSession(p), CreatedAt: now, ExpiresAt: now.Add(h.cfg.SessionLifetime)}
	if err := h.deps.Sessions.PutSession(r.Context(), ls); err != nil {
		return fmt.Errorf("store console session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(), Value: value, Path: "/", HttpOnly: true,
		Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// current returns the signed-in person: ok is false when nobody is (no
// cookie, unknown or expired session); err when the store failed.
func (h *Handler) current(r *http.Request) (Person, bool, error) {
	c, err := r.Cookie(h.cookieName())
	if err != nil || c.Value == "" {
		return Person{}, false, nil
	}
	ls, err := h.deps.Sessions.GetSession(r.Context(), sessionID(c.Value))
	switch {
	case errors.Is(err, oauth.ErrNotFound):
		return Person{}, false, nil
	case err != nil:
		return Person{}, false, fmt.Errorf("load console session: %w", err)
	case !h.now().Before(ls.ExpiresAt):
		return Person{}, false, nil
	}
	p, ok := decodeSession(ls.Member)
	return p, ok, nil
}

// endSession deletes the session and clears the cookie.
func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(h.cookieName()); err == nil && c.Value != "" {
		if err := h.deps.Sessions.DeleteSession(r.Context(), sessionID(c.Value)); err != nil {
			h.deps.Logger.ErrorContext(r.Context(), "end console session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
