package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CORS lets browser apps call the API from the origins the registry allows
// (Fetch standard, "CORS protocol"). It echoes the exact origin (never "*")
// and never allows credentials: apps send bearer tokens, not cookies.
type CORS struct {
	// AllowedOrigin decides an origin; it is asked on every CORS request,
	// so a suspended app's origin is refused at once.
	AllowedOrigin func(ctx context.Context, origin string) bool
	// AllowHeaders are the request headers a preflight allows;
	// DefaultAllowHeaders when empty.
	AllowHeaders []string
	// ExposeHeaders are the response headers scripts may read;
	// DefaultExposeHeaders when empty.
	ExposeHeaders []string
	// MaxAge is how long a browser may cache a preflight; 10 minutes when 0.
	MaxAge time.Duration
}

// Defaults for the CORS fields.
var (
	DefaultAllowHeaders  = []string{"Authorization", "Content-Type", "Accept", "Prefer", "If-None-Match", "If-Modified-Since"}
	DefaultExposeHeaders = []string{"Location", "ETag", "Last-Modified", "Content-Location", "WWW-Authenticate", "X-Request-Id"}
)

// corsMethods are the methods the API offers to browsers.
const corsMethods = "GET, POST, OPTIONS"

// Wrap answers preflights and adds CORS headers for allowed origins. A
// refused origin's preflight gets 403; its other requests pass through
// without CORS headers, so the browser withholds the answer from the page.
func (c *CORS) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		allowed := c.AllowedOrigin != nil && c.AllowedOrigin(r.Context(), origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			c.preflight(w, origin, allowed)
			return
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", strings.Join(orDefault(c.ExposeHeaders, DefaultExposeHeaders), ", "))
		}
		next.ServeHTTP(w, r)
	})
}

func (c *CORS) preflight(w http.ResponseWriter, origin string, allowed bool) {
	if !allowed {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = 10 * time.Minute
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", strings.Join(orDefault(c.AllowHeaders, DefaultAllowHeaders), ", "))
	h.Set("Access-Control-Max-Age", strconv.Itoa(int(maxAge.Seconds())))
	w.WriteHeader(http.StatusNoContent)
}

func orDefault(v, def []string) []string {
	if len(v) == 0 {
		return def
	}
	return v
}

// OriginOf returns the origin (scheme://host[:port], RFC 6454) of an
// absolute http(s) URL, lower-cased and without the scheme's default port.
func OriginOf(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", false
	}
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}

// publicMethods are the methods a public document offers to browsers.
const publicMethods = "GET, HEAD, OPTIONS"

// PublicCORS lets a page on any origin read the public documents behind it
// (discovery, JWKS, the CapabilityStatement): "Access-Control-Allow-Origin: *"
// and never credentials, which "*" forbids anyway (Fetch standard, "CORS
// protocol and credentials"). Everything a document holds is public, so
// the answer does not depend on the origin.
func PublicCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", publicMethods)
			h.Set("Access-Control-Allow-Headers", strings.Join(DefaultAllowHeaders, ", "))
			h.Set("Access-Control-Max-Age", strconv.Itoa(int((10 * time.Minute).Seconds())))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
