package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
)

// CSRF protects forms with a signed double-submit token: a random cookie
// per browser, and a form field holding the HMAC of that cookie under Key.
// A site that cannot read the cookie cannot forge the field.
type CSRF struct {
	Key    []byte // HMAC key, at least 32 bytes, shared by every replica
	Secure bool   // set when the base URL is https: Secure cookie, __Host- prefix
}

// FieldName is the hidden form field that carries the token.
const FieldName = "csrf_token"

func (c *CSRF) cookieName() string {
	if c.Secure {
		return "__Host-pag_csrf"
	}
	return "pag_csrf"
}

// Token returns the form token for this browser, setting its cookie first
// if it has none.
func (c *CSRF) Token(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(c.cookieName()); err == nil && len(ck.Value) >= 32 {
		return c.sign(ck.Value)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: v, Path: "/", HttpOnly: true,
		Secure: c.Secure, SameSite: http.SameSiteLaxMode})
	// The request may render a form after this: let it see the new cookie.
	r.AddCookie(&http.Cookie{Name: c.cookieName(), Value: v})
	return c.sign(v)
}

func (c *CSRF) sign(v string) string {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Errors Verify returns.
var (
	ErrCSRFMissing   = errors.New("csrf: token or cookie missing")
	ErrCSRFMismatch  = errors.New("csrf: token does not match")
	ErrCrossSiteForm = errors.New("csrf: cross-site form post")
)

// Verify checks the form token of a state-changing request, in constant
// time. It also refuses a post the browser marks as cross-site.
func (c *CSRF) Verify(r *http.Request) error {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return ErrCrossSiteForm
	}
	ck, err := r.Cookie(c.cookieName())
	field := r.PostFormValue(FieldName)
	if err != nil || ck.Value == "" || field == "" {
		return ErrCSRFMissing
	}
	if !hmac.Equal([]byte(c.sign(ck.Value)), []byte(field)) {
		return ErrCSRFMismatch
	}
	return nil
}

// Protect refuses unsafe-method requests whose token does not verify, with
// a readable 403 page.
func (c *CSRF) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if err := c.Verify(r); err != nil {
				Error(w, r, http.StatusForbidden, "This form has expired", "For your security the request was not accepted. Go back, reload the page and try again.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
