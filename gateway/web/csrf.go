package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// CSRF protects forms with a signed double-submit token (OWASP CSRF
// Prevention Cheat Sheet, "Signed Double-Submit Cookie"): a random cookie
// per browser, and a form field holding base64url(HMAC-SHA256(Key, cookie)).
// A site that cannot read the cookie cannot forge the field, and without Key
// nobody can pick a cookie value and compute its token. On https the cookie
// carries the __Host- prefix, so a sibling subdomain cannot plant one
// (cookie tossing); on plain http (local development) it cannot.
type CSRF struct {
	// Key is the HMAC key, at least 32 bytes, shared by every replica.
	Key []byte
	// Secure is set when the base URL is https: the cookie is then Secure
	// and its name gets the __Host- prefix.
	Secure bool
	// CookieName names the cookie; DefaultCSRFCookie when empty.
	CookieName string
}

// FieldName is the hidden form field that carries the token.
const FieldName = "csrf_token"

// DefaultCSRFCookie is the cookie name used when CSRF.CookieName is empty.
const DefaultCSRFCookie = "pag_csrf"

// cookieBytes is the entropy of the per-browser cookie value.
const cookieBytes = 32

// Errors Verify returns.
var (
	ErrCSRFMissing   = errors.New("csrf: token or cookie missing")
	ErrCSRFMismatch  = errors.New("csrf: token does not match")
	ErrCrossSiteForm = errors.New("csrf: cross-site request")
)

func (c *CSRF) cookieName() string {
	name := c.CookieName
	if name == "" {
		name = DefaultCSRFCookie
	}
	if c.Secure && !strings.HasPrefix(name, "__Host-") {
		name = "__Host-" + name
	}
	return name
}

// cookieValue returns this browser's well-formed cookie value, or "".
func (c *CSRF) cookieValue(r *http.Request) string {
	want := base64.RawURLEncoding.EncodedLen(cookieBytes)
	for _, ck := range r.CookiesNamed(c.cookieName()) {
		if len(ck.Value) == want {
			return ck.Value
		}
	}
	return ""
}

// Token returns the form token for this browser, setting its cookie first
// if it has none. Put it in a hidden field named FieldName.
func (c *CSRF) Token(w http.ResponseWriter, r *http.Request) string {
	if v := c.cookieValue(r); v != "" {
		return c.sign(v)
	}
	b := make([]byte, cookieBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: v, Path: "/", HttpOnly: true,
		Secure: c.Secure, SameSite: http.SameSiteLaxMode})
	// A second form rendered by this same request must get the same token.
	r.AddCookie(&http.Cookie{Name: c.cookieName(), Value: v})
	return c.sign(v)
}

func (c *CSRF) sign(v string) string {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks the form token of a state-changing request in constant
// time. It also refuses a request the browser marks as cross-site
// (Sec-Fetch-Site, Fetch Metadata), as defense in depth. Both headers are
// checked before the body: a post without the cookie is refused without
// reading a byte of it.
func (c *CSRF) Verify(r *http.Request) error {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return ErrCrossSiteForm
	}
	v := c.cookieValue(r)
	if v == "" {
		return ErrCSRFMissing
	}
	field := r.PostFormValue(FieldName)
	if field == "" {
		return ErrCSRFMissing
	}
	if !hmac.Equal([]byte(c.sign(v)), []byte(field)) {
		return ErrCSRFMismatch
	}
	return nil
}

// Protect refuses every request with an unsafe method (anything but GET,
// HEAD, OPTIONS and TRACE) whose token does not verify, with a readable
// 403 page.
func (c *CSRF) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !safeMethod(r.Method) {
			if err := c.Verify(r); err != nil {
				Error(w, r, http.StatusForbidden, "This form has expired",
					"For your security the request was not accepted. Go back, reload the page and try again.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// safeMethod reports the methods RFC 9110 section 9.2.1 calls safe.
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}
