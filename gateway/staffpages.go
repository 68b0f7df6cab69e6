package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/gateway/console"
	"github.com/patientaccess/gateway/gateway/portal"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth"
	"github.com/patientaccess/gateway/oauth/oidcrp"
)

// Demo console accounts: one admin and one reviewer, with the demo
// members' password.
const (
	DemoConsoleAdmin    = "admin"
	DemoConsoleReviewer = "reviewer"
)

// newConsole builds the admin console: sign-in through the plan's provider
// when GATEWAY_ADMIN_OIDC_ROLE_CLAIM is set (the same client as members,
// with its own redirect URI), and the demo's local accounts.
func (g *Gateway) newConsole(opts Options, pages *ui.UI, auditor storeAuditor) (*console.Handler, error) {
	cfg := g.Config
	cc := console.Config{Secure: isHTTPS(cfg.BaseURL), AutoApprove: g.Registry.AutoApprove}
	if o := cfg.OIDC; o.Issuer != "" && o.AdminRoleClaim != "" {
		scopes := o.AdminScopes
		if len(scopes) == 0 {
			scopes = o.planSignIn().Scopes
		}
		cc.OIDC = &oidcrp.Config{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: scopes,
			RedirectURL: cfg.BaseURL + console.PathCallback, StateCookie: "pag_console_signin", Secure: cc.Secure,
			Secret: []byte(cfg.TokenSecret), Now: opts.Now, Logger: opts.Logger}
		cc.Roles = console.RoleMapping{Claim: o.AdminRoleClaim, Admin: o.AdminValues, Reviewer: o.ReviewerValues}
		if len(cc.Roles.Admin) == 0 {
			cc.Roles.Admin = []string{console.DefaultAdminValue}
		}
		if len(cc.Roles.Reviewer) == 0 {
			cc.Roles.Reviewer = []string{console.DefaultReviewerValue}
		}
	}
	if g.Demo != nil {
		hash, err := console.HashPassword(g.Demo.Password)
		if err != nil {
			return nil, err
		}
		cc.Accounts = []console.Account{{Username: DemoConsoleAdmin, PasswordHash: hash, Role: console.RoleAdmin},
			{Username: DemoConsoleReviewer, PasswordHash: hash, Role: console.RoleReviewer}}
	}
	key := deriveKey(cfg.TokenSecret, "console-sign-in-throttle")
	h, err := console.New(cc, console.Deps{Registry: g.Registry, Store: g.Store, Sessions: g.Store, Limiter: g.Store,
		Limit: oauth.DefaultLoginLimit, ThrottleKey: func(name string) string {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(name))
			return "console-login:" + hex.EncodeToString(m.Sum(nil)[:16])
		}, CSRF: g.csrf, UI: pages, Audit: auditor, Logger: logOr(opts.Logger), Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("admin console: %w", err)
	}
	return h, nil
}

func logOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// newPortal builds the developer portal: public documentation from the
// live configuration, developer accounts in the store, registration
// through the registry.
func (g *Gateway) newPortal(opts Options, pages *ui.UI, types []*catalog.Type) (*portal.Handler, error) {
	cfg := g.Config
	pc := portal.Config{BaseURL: cfg.BaseURL, FHIRBaseURL: cfg.FHIRBaseURL(), Secure: isHTTPS(cfg.BaseURL), AutoApprove: g.Registry.AutoApprove}
	if g.Demo != nil {
		pc.Sandbox, pc.SandboxPassword = g.Demo.Members, g.Demo.Password
	}
	key := deriveKey(cfg.TokenSecret, "developer-sign-in-throttle")
	h, err := portal.New(pc, portal.Deps{Discovery: g.OAuth, Types: types, Registry: g.Registry, Accounts: g.Store, Sessions: g.Store,
		Limiter: g.Store, Limit: oauth.DefaultLoginLimit, ThrottleKey: func(email string) string {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(email))
			return "developer-login:" + hex.EncodeToString(m.Sum(nil)[:16])
		}, CSRF: g.csrf, UI: pages, Logger: logOr(opts.Logger), Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("developer portal: %w", err)
	}
	return h, nil
}
