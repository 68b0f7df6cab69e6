package oidcrp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// state is what the gateway remembers between sending someone to the
// provider and their return (OpenID Connect Core §3.1.2.1, RFC 7636): the
// state that binds the answer to this browser, the nonce the id_token must
// echo, the PKCE verifier, and where to go afterwards. It travels in a
// short-lived session cookie sealed with AES-GCM under a key derived from
// the token secret, bound to the cookie's name, so it cannot be read,
// forged or moved to another relying party's cookie, and every replica can
// open it.
type state struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	ReturnTo string    `json:"r"`
	Expires  time.Time `json:"e"`
}

// StateLifespan bounds the time a person may spend at the provider.
const StateLifespan = 10 * time.Minute

// Reasons a returning browser's state is refused; their texts are the
// audit reasons.
var (
	errStateMissing  = errors.New("state cookie missing")
	errStateInvalid  = errors.New("state cookie invalid")
	errStateExpired  = errors.New("state expired")
	errStateMismatch = errors.New("state mismatch")
)

// stateReason is the audit reason for a refused state.
func stateReason(err error) string {
	for _, e := range []error{errStateMissing, errStateInvalid, errStateExpired, errStateMismatch} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "state refused"
}

// CookieName is the state cookie's name as set in the browser.
func (rp *RP) CookieName() string {
	name := rp.cfg.StateCookie
	if rp.cfg.Secure && !strings.HasPrefix(name, "__Host-") {
		name = "__Host-" + name
	}
	return name
}

// aead is AES-256-GCM under a key derived from the token secret.
func (rp *RP) aead() (cipher.AEAD, error) {
	m := hmac.New(sha256.New, rp.cfg.Secret)
	m.Write([]byte("oauth/plan-sign-in-state"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (rp *RP) newState(returnTo string) state {
	return state{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: returnTo, Expires: rp.cfg.Now().Add(StateLifespan)}
}

// putState seals st into the state cookie.
func (rp *RP) putState(w http.ResponseWriter, st state) error {
	aead, err := rp.aead()
	if err != nil {
		return err
	}
	plain, err := json.Marshal(st)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, plain, []byte(rp.CookieName()))
	http.SetCookie(w, &http.Cookie{Name: rp.CookieName(), Value: base64.RawURLEncoding.EncodeToString(sealed),
		Path: "/", HttpOnly: true, Secure: rp.cfg.Secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// takeState opens the state cookie and clears it, so that each state is
// answered at most once in this browser, then checks the state the
// provider sent back against it (in constant time).
func (rp *RP) takeState(w http.ResponseWriter, r *http.Request) (state, error) {
	http.SetCookie(w, &http.Cookie{Name: rp.CookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: rp.cfg.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c, err := r.Cookie(rp.CookieName())
	if err != nil || c.Value == "" {
		return state{}, errStateMissing
	}
	st, err := rp.openState(c.Value)
	if err != nil {
		return state{}, fmt.Errorf("%w: %v", errStateInvalid, err)
	}
	if !rp.cfg.Now().Before(st.Expires) {
		return state{}, errStateExpired
	}
	if !hmac.Equal([]byte(st.State), []byte(r.URL.Query().Get("state"))) {
		return state{}, errStateMismatch
	}
	return st, nil
}

func (rp *RP) openState(value string) (state, error) {
	aead, err := rp.aead()
	if err != nil {
		return state{}, err
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(sealed) < aead.NonceSize() {
		return state{}, errors.New("not a sealed value")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(rp.CookieName()))
	if err != nil {
		return state{}, err
	}
	var st state
	if err := json.Unmarshal(plain, &st); err != nil {
		return state{}, err
	}
	return st, nil
}
