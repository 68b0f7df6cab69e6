package apps

import (
	"bytes"
	"fmt"
	"image/png"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on registration fields: generous for real apps, small enough that
// one registration cannot bloat the store or the consent page.
const (
	maxName         = 200  // characters
	maxRedirectURIs = 10   // per app
	maxURL          = 2000 // bytes
	maxScopes       = 100  // per app
	maxScope        = 200  // bytes per scope
	maxReason       = 1000 // bytes
)

// forbiddenScheme reports schemes that must never receive an authorization
// response: they run code or read local files.
func forbiddenScheme(scheme string) bool {
	switch scheme {
	case "javascript", "data", "file", "vbscript", "blob", "about":
		return true
	}
	return false
}

// Validate reports every problem with the registration at once, as an error
// wrapping ErrInvalid, or nil. Scopes are checked only for shape (non-empty,
// no spaces); the SMART grammar is the caller's to check.
func (reg Registration) Validate() error {
	var p []string
	p = append(p, checkText("name", reg.Name, true)...)
	p = append(p, checkText("developer", reg.Developer, false)...)
	p = append(p, checkDescription(reg.Description)...)
	p = append(p, checkEmail(reg.ContactEmail)...)
	p = append(p, checkPhone(reg.ContactPhone)...)
	p = append(p, checkLink("logo_uri", reg.LogoURI)...)
	p = append(p, checkRedirectURIs(reg.RedirectURIs)...)
	p = append(p, checkLink("privacy_policy_url", reg.PrivacyPolicyURL)...)
	p = append(p, checkLink("terms_url", reg.TermsURL)...)
	p = append(p, checkLink("website_url", reg.WebsiteURL)...)
	p = append(p, checkWebhook(reg.WebhookURL)...)
	p = append(p, checkLogo(reg.Logo)...)
	p = append(p, checkScopes(reg.Scopes)...)
	p = append(p, checkKeys(reg)...)
	p = append(p, reg.Attestation.validate()...)
	return errList(p)
}

// maxDescription bounds an app's description (characters).
const maxDescription = 2000

func checkDescription(v string) []string {
	v = strings.TrimSpace(v)
	switch {
	case !utf8.ValidString(v):
		return []string{"description is not valid UTF-8"}
	case utf8.RuneCountInString(v) > maxDescription:
		return []string{fmt.Sprintf("description is longer than %d characters", maxDescription)}
	case strings.ContainsFunc(v, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }):
		return []string{"description contains control characters"}
	}
	return nil
}

// checkEmail checks an optional contact email: one plain address.
func checkEmail(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if len(v) > 254 {
		return []string{"contact email is longer than 254 bytes"}
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
		return []string{fmt.Sprintf("contact email %q is not an email address such as security@app.example", v)}
	}
	return nil
}

// checkPhone checks an optional contact phone number: digits with the
// usual separators, at most 40 characters.
func checkPhone(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	digits := 0
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-(). x", r):
		default:
			return []string{fmt.Sprintf("contact phone %q may hold only digits, spaces and + - ( ) . x", v)}
		}
	}
	if digits < 7 || len(v) > 40 {
		return []string{fmt.Sprintf("contact phone %q must have 7 to 40 characters with at least 7 digits", v)}
	}
	return nil
}

func checkText(field, v string, required bool) []string {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		return []string{field + " is required"}
	case !utf8.ValidString(v):
		return []string{field + " is not valid UTF-8"}
	case utf8.RuneCountInString(v) > maxName:
		return []string{fmt.Sprintf("%s is longer than %d characters", field, maxName)}
	case hasControl(v):
		return []string{field + " contains control characters"}
	}
	return nil
}

func checkRedirectURIs(uris []string) []string {
	if len(uris) == 0 {
		return []string{"at least one redirect URI is required"}
	}
	if len(uris) > maxRedirectURIs {
		return []string{fmt.Sprintf("at most %d redirect URIs are allowed", maxRedirectURIs)}
	}
	var p []string
	seen := map[string]bool{}
	for _, u := range uris {
		if seen[u] {
			p = append(p, fmt.Sprintf("redirect URI %q is listed twice", u))
			continue
		}
		seen[u] = true
		if msg := checkRedirectURI(u); msg != "" {
			p = append(p, fmt.Sprintf("redirect URI %q %s", u, msg))
		}
	}
	return p
}

// checkRedirectURI returns what is wrong with one redirect URI, or "".
// RFC 6749 §3.1.2 asks for an absolute URI without a fragment; OAuth 2.0
// Security BCP (RFC 9700 §2.1, §4.1.3) asks for https and exact matching,
// so a wildcard (*) is refused anywhere: it could only be meant as a
// pattern; RFC 8252 §7 lets native apps use http on the loopback interface
// or a private-use scheme named after a domain they own, in reverse order.
func checkRedirectURI(raw string) string {
	if strings.Contains(raw, "*") {
		return "must not contain a wildcard (*): redirect URIs are matched exactly, character for character"
	}
	u, msg := parseAbsolute(raw)
	if msg != "" {
		return msg
	}
	if strings.Contains(raw, "#") {
		return "must not have a fragment"
	}
	switch {
	case u.Scheme == "https" || u.Scheme == "http":
		return checkWebURL(u)
	case forbiddenScheme(u.Scheme):
		return "uses a forbidden scheme"
	case !strings.Contains(u.Scheme, "."):
		return "must use https, http on a loopback host, or a reverse-domain private-use scheme such as com.example.app:/callback (RFC 8252 §7.1)"
	}
	return ""
}

// checkLink checks an optional link shown to members: absolute https, or
// http on a loopback host.
func checkLink(field, raw string) []string {
	if raw == "" {
		return nil
	}
	u, msg := parseAbsolute(raw)
	if msg == "" && u.Scheme != "https" && u.Scheme != "http" {
		msg = "must use https"
	}
	if msg == "" {
		msg = checkWebURL(u)
	}
	if msg != "" {
		return []string{fmt.Sprintf("%s %q %s", field, raw, msg)}
	}
	return nil
}

// checkWebhook checks the revocation webhook: like a link (https, or http
// on a loopback host), without a fragment.
func checkWebhook(raw string) []string {
	if p := checkLink("webhook_url", raw); p != nil {
		return p
	}
	if strings.Contains(raw, "#") {
		return []string{fmt.Sprintf("webhook_url %q must not have a fragment", raw)}
	}
	return nil
}

func parseAbsolute(raw string) (*url.URL, string) {
	if len(raw) > maxURL {
		return nil, fmt.Sprintf("is longer than %d bytes", maxURL)
	}
	if strings.IndexFunc(raw, unicode.IsSpace) >= 0 || hasControl(raw) {
		return nil, "contains spaces or control characters"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "is not a valid URL"
	}
	if u.Scheme == "" {
		return nil, "must be an absolute URL"
	}
	if u.User != nil {
		return nil, "must not contain credentials"
	}
	return u, ""
}

// checkWebURL checks an http(s) URL: it needs a host, and plain http is
// allowed only on a loopback host.
func checkWebURL(u *url.URL) string {
	if u.Host == "" || u.Hostname() == "" {
		return "must have a host"
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "must use https (http is allowed only for 127.0.0.1, [::1] and localhost)"
	}
	return ""
}

func isLoopback(host string) bool {
	switch strings.ToLower(host) {
	case "127.0.0.1", "::1", "localhost":
		return true
	}
	return false
}

func checkScopes(scopes []string) []string {
	if len(scopes) > maxScopes {
		return []string{fmt.Sprintf("at most %d scopes are allowed", maxScopes)}
	}
	var p []string
	for _, s := range scopes {
		if s == "" || len(s) > maxScope || strings.IndexFunc(s, unicode.IsSpace) >= 0 || hasControl(s) {
			p = append(p, fmt.Sprintf("scope %q is empty, too long, or contains spaces", s))
		}
	}
	return p
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// checkKeys checks the keys of a private_key_jwt registration: a JWKS or a
// jwks_uri, not both (RFC 7591 §2), never on a public app, and the JWKS by
// CheckJWKS. A jwks_uri must be https (http only on a loopback host).
func checkKeys(reg Registration) []string {
	hasJWKS := len(reg.JWKS) > 0 && string(reg.JWKS) != "null"
	switch {
	case !hasJWKS && reg.JWKSURI == "":
		return nil
	case hasJWKS && reg.JWKSURI != "":
		return []string{"give jwks or jwks_uri, not both"}
	case reg.Public:
		return []string{"a public app has no keys: drop jwks and jwks_uri, or register it as confidential"}
	case reg.JWKSURI != "":
		return checkLink("jwks_uri", reg.JWKSURI)
	}
	if err := CheckJWKS(reg.JWKS); err != nil {
		return []string{strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")}
	}
	return nil
}

// Logo limits: small enough to keep in the store and show at 64 pixels.
const (
	MaxLogoBytes = 64 << 10
	MaxLogoSide  = 512
)

// checkLogo accepts a PNG of at most MaxLogoBytes and MaxLogoSide pixels a
// side. PNG only: an SVG can carry script, and the gateway serves logos
// from its own origin.
func checkLogo(logo []byte) []string {
	if len(logo) == 0 {
		return nil
	}
	if len(logo) > MaxLogoBytes {
		return []string{fmt.Sprintf("logo is larger than %d KiB", MaxLogoBytes>>10)}
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(logo))
	if err != nil {
		return []string{"logo must be a PNG image"}
	}
	if cfg.Width > MaxLogoSide || cfg.Height > MaxLogoSide || cfg.Width < 16 || cfg.Height < 16 {
		return []string{fmt.Sprintf("logo must be between 16 and %d pixels a side, not %dx%d", MaxLogoSide, cfg.Width, cfg.Height)}
	}
	return nil
}

// CheckRedirectURIs reports every problem with a list of redirect URIs, as
// an error wrapping ErrInvalid, or nil: the part of Validate that RFC 7591
// answers with invalid_redirect_uri.
func CheckRedirectURIs(uris []string) error { return errList(checkRedirectURIs(uris)) }
