package oauth

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
	"time"

	"golang.org/x/oauth2"
)

// signInState is what the gateway remembers between sending a member to the
// provider and their return (OpenID Connect Core §3.1.2.1, RFC 7636): the
// state that binds the answer to this browser, the nonce the id_token must
// echo, the PKCE verifier, and where to go afterwards. It travels in a
// short-lived cookie sealed with AES-GCM under a key derived from the token
// secret, so it cannot be read, forged or moved to another cookie name, and
// every replica can open it.
type signInState struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	ReturnTo string    `json:"r"`
	Expires  time.Time `json:"e"`
}

// signInStateLifespan bounds the time a member may spend at the provider.
const signInStateLifespan = 10 * time.Minute

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

func (s *Server) stateCookieName() string {
	if s.secure() {
		return "__Host-pag_signin"
	}
	return "pag_signin"
}

// stateAEAD is AES-256-GCM under a key derived from the token secret.
func (s *Server) stateAEAD() (cipher.AEAD, error) {
	m := hmac.New(sha256.New, s.cfg.TokenSecret)
	m.Write([]byte("oauth/plan-sign-in-state"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// newSignInState makes fresh random state, nonce and PKCE verifier.
func (s *Server) newSignInState(returnTo string) signInState {
	return signInState{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: returnTo, Expires: s.now().Add(signInStateLifespan)}
}

// putSignInState seals st into the state cookie.
func (s *Server) putSignInState(w http.ResponseWriter, st signInState) error {
	aead, err := s.stateAEAD()
	if err != nil {
		return err
	}
	plain, err := json.Marshal(st)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, plain, []byte(s.stateCookieName()))
	http.SetCookie(w, &http.Cookie{Name: s.stateCookieName(), Value: base64.RawURLEncoding.EncodeToString(sealed),
		Path: "/", HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	return nil
}

// takeSignInState opens the state cookie and clears it, so that each
// state is answered at most once in this browser, then checks the state
// the provider sent back against it (in constant time).
func (s *Server) takeSignInState(w http.ResponseWriter, r *http.Request) (signInState, error) {
	http.SetCookie(w, &http.Cookie{Name: s.stateCookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: s.secure(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c, err := r.Cookie(s.stateCookieName())
	if err != nil || c.Value == "" {
		return signInState{}, errStateMissing
	}
	st, err := s.openSignInState(c.Value)
	if err != nil {
		return signInState{}, fmt.Errorf("%w: %v", errStateInvalid, err)
	}
	if !s.now().Before(st.Expires) {
		return signInState{}, errStateExpired
	}
	if !hmac.Equal([]byte(st.State), []byte(r.URL.Query().Get("state"))) {
		return signInState{}, errStateMismatch
	}
	return st, nil
}

func (s *Server) openSignInState(value string) (signInState, error) {
	aead, err := s.stateAEAD()
	if err != nil {
		return signInState{}, err
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(sealed) < aead.NonceSize() {
		return signInState{}, errors.New("not a sealed value")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(s.stateCookieName()))
	if err != nil {
		return signInState{}, err
	}
	var st signInState
	if err := json.Unmarshal(plain, &st); err != nil {
		return signInState{}, err
	}
	return st, nil
}
