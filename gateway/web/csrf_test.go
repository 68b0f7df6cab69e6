package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// browserToken gets a token and its cookie as a browser would, from a GET.
func browserToken(t *testing.T, c *CSRF) (string, *http.Cookie) {
	t.Helper()
	rec := httptest.NewRecorder()
	token := c.Token(rec, httptest.NewRequest("GET", "/form", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Token set %d cookies, want 1", len(cookies))
	}
	return token, cookies[0]
}

func formPost(method, field string, cookie *http.Cookie, site string) *http.Request {
	form := url.Values{}
	if field != "" {
		form.Set(FieldName, field)
	}
	r := httptest.NewRequest(method, "/form", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != nil {
		r.AddCookie(cookie)
	}
	if site != "" {
		r.Header.Set("Sec-Fetch-Site", site)
	}
	return r
}

func TestCSRFCookie(t *testing.T) {
	tests := []struct {
		name       string
		csrf       CSRF
		wantName   string
		wantSecure bool
	}{
		{"http default", CSRF{}, DefaultCSRFCookie, false},
		{"https default", CSRF{Secure: true}, "__Host-" + DefaultCSRFCookie, true},
		{"http named", CSRF{CookieName: "f"}, "f", false},
		{"https named", CSRF{CookieName: "f", Secure: true}, "__Host-f", true},
		{"https already prefixed", CSRF{CookieName: "__Host-f", Secure: true}, "__Host-f", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.csrf.Key = bytes.Repeat([]byte("k"), 32)
			_, ck := browserToken(t, &tc.csrf)
			if ck.Name != tc.wantName || ck.Secure != tc.wantSecure || !ck.HttpOnly ||
				ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
				t.Errorf("cookie %+v", ck)
			}
		})
	}
}

func TestCSRFTokenStableForBrowser(t *testing.T) {
	c := &CSRF{Key: bytes.Repeat([]byte("k"), 32)}
	token, ck := browserToken(t, c)
	r := httptest.NewRequest("GET", "/form", nil)
	r.AddCookie(ck)
	rec := httptest.NewRecorder()
	if again := c.Token(rec, r); again != token {
		t.Errorf("second token %q differs from %q", again, token)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("Token replaced a valid cookie")
	}
	// Two forms rendered by one request share one cookie and token.
	r = httptest.NewRequest("GET", "/form", nil)
	rec = httptest.NewRecorder()
	if a, b := c.Token(rec, r), c.Token(rec, r); a != b || len(rec.Result().Cookies()) != 1 {
		t.Errorf("one request got tokens %q and %q, %d cookies", a, b, len(rec.Result().Cookies()))
	}
}

func TestCSRFVerify(t *testing.T) {
	c := &CSRF{Key: bytes.Repeat([]byte("k"), 32)}
	token, ck := browserToken(t, c)
	_, otherCookie := browserToken(t, c)
	short := &http.Cookie{Name: ck.Name, Value: "abc"}
	tests := []struct {
		name string
		req  *http.Request
		want error
	}{
		{"valid", formPost("POST", token, ck, "same-origin"), nil},
		{"valid without fetch metadata", formPost("POST", token, ck, ""), nil},
		{"same-site is allowed", formPost("POST", token, ck, "same-site"), nil},
		{"no field", formPost("POST", "", ck, ""), ErrCSRFMissing},
		{"no cookie", formPost("POST", token, nil, ""), ErrCSRFMissing},
		{"malformed cookie", formPost("POST", token, short, ""), ErrCSRFMissing},
		{"forged field", formPost("POST", token[:len(token)-2]+"AA", ck, ""), ErrCSRFMismatch},
		{"another browser's cookie", formPost("POST", token, otherCookie, ""), ErrCSRFMismatch},
		{"cross-site", formPost("POST", token, ck, "cross-site"), ErrCrossSiteForm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Verify(tc.req); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	other := &CSRF{Key: bytes.Repeat([]byte("x"), 32)}
	if err := other.Verify(formPost("POST", token, ck, "")); !errors.Is(err, ErrCSRFMismatch) {
		t.Errorf("token signed under another key: %v", err)
	}
}

func TestCSRFProtect(t *testing.T) {
	c := &CSRF{Key: bytes.Repeat([]byte("k"), 32)}
	token, ck := browserToken(t, c)
	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"GET passes without token", httptest.NewRequest("GET", "/form", nil), 200},
		{"HEAD passes without token", httptest.NewRequest("HEAD", "/form", nil), 200},
		{"valid POST", formPost("POST", token, ck, "same-origin"), 200},
		{"POST without token", formPost("POST", "", ck, ""), 403},
		{"PUT without token", formPost("PUT", "", ck, ""), 403},
		{"PATCH forged", formPost("PATCH", "forged", ck, ""), 403},
		{"DELETE without cookie", formPost("DELETE", token, nil, ""), 403},
		{"cross-site POST with valid token", formPost("POST", token, ck, "cross-site"), 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c.Protect(ok).ServeHTTP(rec, tc.req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			if tc.want == 403 && (!strings.Contains(rec.Body.String(), "<h1>This form has expired</h1>") ||
				!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html")) {
				t.Errorf("403 is not the readable error page: %s", rec.Body.String())
			}
		})
	}
}

// countingBody records whether anything read it.
type countingBody struct {
	r    *strings.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) { n, err := b.r.Read(p); b.read += n; return n, err }
func (b *countingBody) Close() error               { return nil }

// TestCSRFCheckedBeforeBody: a form post without the CSRF cookie (or
// marked cross-site) is refused without reading a byte of its body.
func TestCSRFCheckedBeforeBody(t *testing.T) {
	c := &CSRF{Key: bytes.Repeat([]byte("k"), 32)}
	_, cookie := browserToken(t, c)
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		site   string
	}{
		{"no cookie", nil, ""},
		{"malformed cookie", &http.Cookie{Name: cookie.Name, Value: "short"}, ""},
		{"cross-site", cookie, "cross-site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := formPost("POST", "whatever", tc.cookie, tc.site)
			body := &countingBody{r: strings.NewReader(FieldName + "=x&" + strings.Repeat("a", 4096))}
			r.Body = body
			if err := c.Verify(r); err == nil {
				t.Fatal("Verify accepted the post")
			}
			if body.read != 0 || r.PostForm != nil {
				t.Fatalf("Verify read %d bytes of the body before refusing", body.read)
			}
		})
	}
}
