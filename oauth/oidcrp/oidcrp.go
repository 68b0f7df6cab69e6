// Package oidcrp is the gateway's OpenID Connect relying party: the one
// piece of code that signs people in through the plan's provider, used for
// members (package oauth) and for plan staff at the admin console (package
// gateway/console). It runs the authorization code flow with PKCE (S256), a
// fresh state and nonce (OpenID Connect Core §3.1), keeps them in an
// AES-GCM-sealed session cookie any replica can open, redeems the code with
// the client secret and verifies the id_token against the provider's JWKS.
//
// What a caller does with the verified id_token (link a member to a
// Patient, map a staff member's groups to a role) is the caller's.
package oidcrp

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// discoveryRefresh is how long a fetched discovery document is used before
// it is fetched again; ProviderTimeout bounds every call to the provider.
const (
	discoveryRefresh = time.Hour
	// ProviderTimeout bounds every call to the provider.
	ProviderTimeout = 10 * time.Second
)

// Config is one relying party: a client at the provider and where the
// provider sends people back.
type Config struct {
	// Issuer is the provider's issuer URL; discovery is read from
	// {Issuer}/.well-known/openid-configuration and must name it exactly.
	Issuer string
	// ClientID and ClientSecret are the gateway's credentials at the
	// provider.
	ClientID, ClientSecret string
	// Scopes are requested at the provider; they must include openid.
	Scopes []string
	// RedirectURL is the callback registered at the provider.
	RedirectURL string
	// StateCookie names the cookie that carries the sealed state (the
	// __Host- prefix is added when Secure). Each relying party needs its
	// own: a state sealed for one cannot be opened by another.
	StateCookie string
	// Secure marks the state cookie Secure (an https base URL).
	Secure bool
	// Secret is the gateway's token secret; the key that seals the state
	// is derived from it and StateCookie.
	Secret []byte
	// HTTPClient calls the provider; nil means one with ProviderTimeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives discovery refresh failures; nil discards them.
	Logger *slog.Logger
}

// Validate reports every problem of the provider settings at once.
func (c Config) Validate() []error {
	var errs []error
	u, err := url.Parse(c.Issuer)
	switch {
	case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("OIDC issuer %q: want an absolute URL without query", c.Issuer))
	case u.Scheme != "https" && (u.Scheme != "http" || !Loopback(u.Hostname())):
		errs = append(errs, fmt.Errorf("OIDC issuer %q: must be https (http only on a loopback address)", c.Issuer))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("OIDC client id is required"))
	}
	if c.ClientSecret == "" {
		errs = append(errs, errors.New("OIDC client secret is required"))
	}
	if !slices.Contains(c.Scopes, oidc.ScopeOpenID) {
		errs = append(errs, errors.New("OIDC scopes must include openid"))
	}
	return errs
}

// Loopback reports whether host is localhost or a loopback address.
func Loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// RP is a relying party of one provider. It is safe for concurrent use.
type RP struct {
	cfg  Config
	disc *Discovery
}

// New makes a relying party; it contacts the provider only at the first
// sign-in.
func New(cfg Config) *RP {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: ProviderTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &RP{cfg: cfg, disc: &Discovery{Issuer: cfg.Issuer, Client: cfg.HTTPClient, Now: cfg.Now, Logger: cfg.Logger}}
}

// Kind is what went wrong in a sign-in, for the caller to choose the page
// (and status) a person sees.
type Kind int

// The kinds of sign-in failure.
const (
	// KindUnreachable: discovery failed when the sign-in started.
	KindUnreachable Kind = iota + 1
	// KindState: the state cookie is missing, unreadable, expired or does
	// not match the answer (a replay, another browser, a stale tab).
	KindState
	// KindCancelled: the provider answered with an error (the person
	// cancelled, or was refused there).
	KindCancelled
	// KindForeign: the answer names another issuer (RFC 9207).
	KindForeign
	// KindProvider: the code could not be redeemed or the id_token is not
	// valid for this client.
	KindProvider
	// KindNonce: the id_token does not echo this sign-in's nonce.
	KindNonce
)

// Error is a failed sign-in. Reason is fixed words fit for an audit trail
// (never a claim value); Err, if any, is for the log only.
type Error struct {
	Kind   Kind
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "oidc sign-in: " + e.Reason + ": " + e.Err.Error()
	}
	return "oidc sign-in: " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// Start remembers a fresh state, nonce and PKCE verifier (and returnTo)
// in the sealed state cookie and returns the provider's authorization URL
// to send the browser to. A provider that cannot be discovered is an
// *Error of KindUnreachable.
func (rp *RP) Start(ctx context.Context, w http.ResponseWriter, returnTo string) (string, error) {
	p, err := rp.disc.Get(ctx)
	if err != nil {
		return "", &Error{Kind: KindUnreachable, Reason: "provider unreachable", Err: err}
	}
	st := rp.newState(returnTo)
	if err := rp.putState(w, st); err != nil {
		return "", fmt.Errorf("seal sign-in state: %w", err)
	}
	return rp.oauth2Config(p).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), nil
}

// Finish checks the provider's answer on the callback request: the state
// cookie (cleared, so an answer is used at most once), the error or iss
// the provider sent, then redeems the code and verifies the id_token:
// signature, iss, aud (and azp with several audiences), exp and nonce. It
// returns the id_token and the returnTo given to Start; every failure is
// an *Error.
func (rp *RP) Finish(w http.ResponseWriter, r *http.Request) (*oidc.IDToken, string, error) {
	st, err := rp.takeState(w, r)
	if err != nil {
		return nil, "", &Error{Kind: KindState, Reason: stateReason(err), Err: err}
	}
	q := r.URL.Query()
	if code := q.Get("error"); code != "" {
		return nil, "", &Error{Kind: KindCancelled, Reason: "provider answered " + errorCode(code)}
	}
	// RFC 9207: a provider that names itself must name the one we asked.
	if iss := q.Get("iss"); iss != "" && iss != rp.cfg.Issuer {
		return nil, "", &Error{Kind: KindForeign, Reason: "iss does not match the provider"}
	}
	idt, err := rp.exchange(r.Context(), q.Get("code"), st)
	if err != nil {
		return nil, "", err
	}
	return idt, st.ReturnTo, nil
}

// exchange redeems the code with the PKCE verifier and verifies the
// id_token.
func (rp *RP) exchange(ctx context.Context, code string, st state) (*oidc.IDToken, error) {
	failed := func(reason string, err error) error { return &Error{Kind: KindProvider, Reason: reason, Err: err} }
	p, err := rp.disc.Get(ctx)
	if err != nil {
		return nil, failed("provider unreachable", err)
	}
	tctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, rp.cfg.HTTPClient), ProviderTimeout)
	defer cancel()
	tok, err := rp.oauth2Config(p).Exchange(tctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, failed("provider refused the code", err)
		}
		return nil, failed("provider unreachable", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, failed("no id_token", nil)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: rp.cfg.ClientID, Now: rp.cfg.Now}).Verify(ctx, raw)
	if err != nil {
		return nil, failed("id_token invalid", err)
	}
	if !hmac.Equal([]byte(idt.Nonce), []byte(st.Nonce)) {
		return nil, &Error{Kind: KindNonce, Reason: "nonce mismatch"}
	}
	var azp struct {
		AZP string `json:"azp"`
	}
	if len(idt.Audience) > 1 && (idt.Claims(&azp) != nil || azp.AZP != rp.cfg.ClientID) {
		return nil, failed("id_token azp is not this client", nil)
	}
	return idt, nil
}

func (rp *RP) oauth2Config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: rp.cfg.ClientID, ClientSecret: rp.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: rp.cfg.RedirectURL, Scopes: rp.cfg.Scopes}
}

// Discovery caches a provider's discovery document. go-oidc fetches
// discovery once per oidc.Provider and never again; its remote key set
// keeps the JWKS in memory and fetches it again only when an id_token is
// signed by a key it does not hold (one fetch at a time). So discovery is
// fetched lazily, at the first sign-in, and again once it is an hour old,
// which also starts a fresh key set. A failed refresh keeps the last good
// document, and the next sign-in retries.
type Discovery struct {
	Issuer string
	Client *http.Client
	Now    func() time.Time
	Logger *slog.Logger

	mu      sync.Mutex
	p       *oidc.Provider
	fetched time.Time
}

// Get returns the provider's metadata, fetching it when absent or stale.
func (d *Discovery) Get(ctx context.Context) (*oidc.Provider, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p != nil && d.Now().Sub(d.fetched) < discoveryRefresh {
		return d.p, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, d.Client), ProviderTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, d.Issuer)
	if err != nil {
		if d.p != nil {
			d.Logger.WarnContext(ctx, "OpenID provider discovery refresh failed; keeping the last document", "err", err)
			return d.p, nil
		}
		return nil, fmt.Errorf("OpenID provider discovery: %w", err)
	}
	d.p, d.fetched = p, d.Now()
	return p, nil
}

// ClaimString reads a claim that is a non-empty string, or a number (some
// providers send member numbers as JSON numbers), as its literal text: at
// most 256 bytes, no control characters.
func ClaimString(raw json.RawMessage) (string, bool) {
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if len(raw) == 0 || d.Decode(&v) != nil {
		return "", false
	}
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = x.String()
	}
	if s == "" || len(s) > 256 || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", false
	}
	return s, true
}

// ValidSubject accepts what OpenID Connect Core §2 allows a sub to be: at
// most 255 ASCII characters; printable ones only, since it reaches the
// audit trail.
func ValidSubject(sub string) bool {
	return sub != "" && len(sub) <= 255 && strings.IndexFunc(sub, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) < 0
}

var errorCodeRE = regexp.MustCompile(`^[a-z_]{1,40}$`)

// errorCode keeps an OAuth error code fit for the audit trail.
func errorCode(code string) string {
	if errorCodeRE.MatchString(code) {
		return code
	}
	return "an unrecognised error"
}
