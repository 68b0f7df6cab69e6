package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CORS lets browser apps call the API from the origins the registry allows.
// It echoes the exact origin (never "*") and never allows credentials: apps
// send bearer tokens, not cookies.
type CORS struct {
	// AllowedOrigin decides an origin; it is asked on every CORS request.
	AllowedOrigin func(ctx context.Context, origin string) bool
	MaxAge        time.Duration // preflight cache; default 10 minutes
}

const (
	corsMethods = "GET, POST, OPTIONS"
	corsHeaders = "Authorization, Content-Type, Accept, Prefer, If-None-Match"
	corsExpose  = "Location, ETag, Last-Modified, Content-Location, WWW-Authenticate, X-Request-Id"
)

// Wrap answers preflights and adds CORS headers for allowed origins.
func (c *CORS) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		allowed := c.AllowedOrigin != nil && c.AllowedOrigin(r.Context(), origin)
		if preflight {
			if !allowed {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.maxAge().Seconds())))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", corsExpose)
		}
		next.ServeHTTP(w, r)
	})
}

func (c *CORS) maxAge() time.Duration {
	if c.MaxAge > 0 {
		return c.MaxAge
	}
	return 10 * time.Minute
}

// OriginOf returns the origin (scheme://host[:port]) of an absolute http(s)
// URL, lower-cased and without default ports.
func OriginOf(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
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
