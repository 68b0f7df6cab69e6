package web

import "net/http"

// Headers adds the security headers every answer carries.
type Headers struct {
	// HTTPS adds Strict-Transport-Security; set it when the base URL is https.
	HTTPS bool
}

// ContentSecurityPolicy forbids framing (clickjacking of the consent page),
// plugins and foreign scripts. It sets no form-action: after the consent
// form is posted the browser is redirected to the app's registered redirect
// URI, and Chrome applies form-action to that redirect too.
const ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// Wrap returns next with the headers set before it writes.
func (hd *Headers) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if hd.HTTPS {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
