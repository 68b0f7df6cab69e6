package gateway

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/gateway/admin"
	"github.com/patientaccess/gateway/gateway/dcr"
	"github.com/patientaccess/gateway/gateway/devaccount"
	"github.com/patientaccess/gateway/gateway/policywatch"
	"github.com/patientaccess/gateway/gateway/telemetry"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/gateway/web"
	"github.com/patientaccess/gateway/gateway/webhook"
	"github.com/patientaccess/gateway/oauth"
)

// Store is what the gateway needs of a storage backend.
type Store interface {
	apps.Store
	oauth.Storage
	webhook.Store
	devaccount.Store
}

// Gateway is the assembled server.
type Gateway struct {
	Config   Config
	Handler  http.Handler
	OAuth    *oauth.Server
	Registry *apps.Registry
	Store    Store
	// Webhooks sends the revocation notices apps registered for; Serve
	// runs it.
	Webhooks *webhook.Dispatcher
	// PolicyWatch fetches apps' privacy policies and terms on a schedule
	// (Config.Vetting.PolicyWatch); Serve runs it.
	PolicyWatch *policywatch.Watcher
	// Demo is set in demo mode: the seeded logins and app, for the banner.
	Demo *DemoInfo
	// AdminTokenGenerated is true when the admin token was generated here.
	AdminTokenGenerated bool
	// Data counts the FHIR data loaded into the embedded source (nil when
	// none was), for the banner.
	Data *fhir.DataSummary

	csrf *web.CSRF
	// registration serves RFC 7591/7592; nil when turned off.
	registration *dcr.Handler
	logger       *slog.Logger
	ready        readiness
	// origins indexes approved apps' origins for CORS (nil: the store
	// does not version its registry, and the registry is read instead).
	origins *originIndex

	closers []func() error
}

// Options are the collaborators New takes besides the Config.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Store overrides the store the Config selects (tests use it).
	Store Store
	// Patients overrides where members signed in through the plan's
	// OpenID provider are looked up (default: the FHIR source).
	Patients oauth.PatientDirectory
}

// New builds the gateway: store, demo seed, OAuth, FHIR and admin APIs.
func New(ctx context.Context, cfg Config, opts Options) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg.setDefaults()
	g := &Gateway{Config: cfg, logger: opts.Logger}
	if err := g.openStore(ctx, opts); err != nil {
		return nil, err
	}
	if err := g.secrets(); err != nil {
		return nil, g.fail(err)
	}
	fhirSource, types, err := g.openFHIR(ctx, opts.Logger)
	if err != nil {
		return nil, g.fail(err)
	}
	pages, err := g.newUI(types)
	if err != nil {
		return nil, g.fail(err)
	}
	auditor := storeAuditor{store: g.Store, now: opts.Now, calls: &callNoter{store: g.Store, now: opts.Now, logger: opts.Logger}}
	g.Registry = &apps.Registry{Store: g.Store, Audit: auditor, Now: opts.Now, ResourceTypes: typeNames(types), AutoApprove: cfg.Vetting.AutoApprove}
	if !cfg.Vetting.DisableRegistration {
		g.registration = &dcr.Handler{Registry: g.Registry, BaseURL: cfg.BaseURL, Limiter: g.Store,
			ThrottleKey: deriveKey(cfg.TokenSecret, "dcr-throttle"), ClientIP: web.ClientIP(cfg.Plan.TrustedProxies),
			Logger: opts.Logger, Now: opts.Now}
	}
	if cfg.OIDC.Issuer != "" && opts.Patients == nil {
		link, err := newPatientLink(fhirSource)
		if err != nil {
			return nil, g.fail(err)
		}
		opts.Patients = link
	}
	g.PolicyWatch = &policywatch.Watcher{Registry: g.Registry, Store: g.Store, Interval: cfg.Vetting.PolicyWatch,
		AllowLoopback: cfg.Demo, Now: opts.Now, Logger: opts.Logger, Claim: g.claimWatchRound}
	g.Webhooks = &webhook.Dispatcher{Store: g.Store, Now: opts.Now, Logger: opts.Logger, AllowLoopback: cfg.Demo}
	notices := &webhook.Notifier{Store: g.Store, Apps: g.Store, Issuer: cfg.BaseURL, Now: opts.Now, Logger: opts.Logger, Kick: g.Webhooks.Kick}
	oauthServer, err := g.newOAuth(opts, auditor, types, pages, notices)
	if err != nil {
		return nil, g.fail(err)
	}
	notices.Signer = oauthServer
	g.OAuth = oauthServer
	if cfg.Demo {
		demo, err := seedDemo(ctx, g.Store, g.Config, opts.Now)
		if err != nil {
			return nil, g.fail(err)
		}
		g.Demo = demo
	}
	fhirHandler := &fhir.Handler{
		BaseURL: cfg.FHIRBaseURL(), Tokens: tokenChecker{s: oauthServer, audit: auditor}, Source: fhirSource,
		Audit: auditor, Logger: opts.Logger, Now: opts.Now,
		Types: types, CursorKey: deriveKey(cfg.TokenSecret, "fhir-cursor"),
		Sensitive: cfg.Plan.sensitive(), ClientIP: web.ClientIP(cfg.Plan.TrustedProxies),
		OAuth: fhir.OAuthURIs{
			Authorize: cfg.BaseURL + oauth.PathAuthorize, Token: cfg.BaseURL + oauth.PathToken,
			Revoke: cfg.BaseURL + oauth.PathRevoke, Introspect: cfg.BaseURL + oauth.PathIntrospect,
		},
	}
	if v, ok := g.Store.(appsVersioner); ok {
		g.origins = &originIndex{store: v}
	}
	adminHandler := &admin.Handler{Registry: g.Registry, Store: g.Store, Webhooks: g.Store, Token: cfg.AdminToken, Logger: opts.Logger}
	consoleHandler, err := g.newConsole(opts, pages, auditor)
	if err != nil {
		return nil, g.fail(err)
	}
	portalHandler, err := g.newPortal(opts, pages, types)
	if err != nil {
		return nil, g.fail(err)
	}
	g.Handler = g.routes(opts.Logger, pages, oauthServer, fhirHandler, adminHandler, consoleHandler, portalHandler)
	return g, nil
}

// secrets fills in the generated secrets the configuration left empty.
func (g *Gateway) secrets() error {
	if g.Config.TokenSecret == "" {
		s, err := randomString(32)
		if err != nil {
			return err
		}
		g.Config.TokenSecret = s
	}
	if g.Config.AdminToken == "" && g.Config.Demo {
		s, err := randomString(24)
		if err != nil {
			return err
		}
		g.Config.AdminToken = s
		g.AdminTokenGenerated = true
	}
	return nil
}

// openFHIR opens where member data comes from: the plan's upstream FHIR
// server, or the embedded store (with the demo data in demo mode and the
// files of DataDir). It returns the types served.
func (g *Gateway) openFHIR(ctx context.Context, logger *slog.Logger) (fhir.Source, []*catalog.Type, error) {
	if g.Config.Upstream.URL != "" {
		return openUpstream(ctx, g.Config.Upstream, logger)
	}
	src, data, err := loadFHIRData(g.Config, logger)
	if err != nil {
		return nil, nil, err
	}
	g.Data = data
	return src, catalog.All(), nil
}

func (g *Gateway) newOAuth(opts Options, auditor apps.Auditor, types []*catalog.Type, pages *ui.UI, revoked oauth.RevocationNotifier) (*oauth.Server, error) {
	key, err := g.signingKey()
	if err != nil {
		return nil, err
	}
	cfg := g.Config
	g.csrf = &web.CSRF{Key: deriveKey(cfg.TokenSecret, "csrf"), Secure: isHTTPS(cfg.BaseURL)}
	oc := oauth.Config{
		Issuer: cfg.BaseURL, FHIRBaseURL: cfg.FHIRBaseURL(),
		TokenSecret: []byte(cfg.TokenSecret), SigningKey: key,
		PlanSignIn: cfg.OIDC.planSignIn(), LocalLoginDisabled: cfg.OIDC.DisableLocalLogin,
		IntrospectLimit: cfg.IntrospectLimit,
	}
	if g.registration != nil {
		oc.RegistrationEndpoint = cfg.BaseURL + dcr.Path
	}
	cfg.Plan.oauthConfig(&oc)
	return oauth.New(oc, oauth.Deps{
		Storage: g.Store, Apps: g.Store, Audit: auditor, CSRF: g.csrf, Logger: opts.Logger, Now: opts.Now,
		ResourceTypes: oauthTypes(types), Categories: categories(), Patients: opts.Patients, UI: pages, Revoked: revoked,
	})
}

func (g *Gateway) signingKey() (*rsa.PrivateKey, error) {
	if g.Config.SigningKeyFile != "" {
		return loadSigningKey(g.Config.SigningKeyFile)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return k, nil
}

// Close releases the store connection.
func (g *Gateway) Close() error {
	var errs []error
	for _, c := range g.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

func (g *Gateway) fail(err error) error {
	_ = g.Close()
	return err
}

// Serve runs the HTTP server until ctx ends, then drains: /readyz fails at
// once, the listener closes (no new connections), and requests in flight
// get Config.ShutdownTimeout to finish; any still running then are cut
// off and Serve says so.
func (g *Gateway) Serve(ctx context.Context, logger *slog.Logger) error {
	srv := &http.Server{
		Addr: g.Config.Addr, Handler: g.Handler,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	webhooksDone := make(chan struct{})
	webhookCtx, stopWebhooks := context.WithCancel(ctx)
	defer func() { stopWebhooks(); <-webhooksDone }()
	go func() { defer close(webhooksDone); g.Webhooks.Run(webhookCtx) }()
	watchDone := make(chan struct{})
	defer func() { stopWebhooks(); <-watchDone }()
	go func() { defer close(watchDone); g.PolicyWatch.Run(webhookCtx) }()
	select {
	case err := <-errc:
		return fmt.Errorf("listen on %s: %w", g.Config.Addr, err)
	case <-ctx.Done():
	}
	g.ready.draining.Store(true)
	logger.Info("shutting down: not ready, no new connections, draining requests in flight", "bound", g.Config.ShutdownTimeout)
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		_ = srv.Close() // cut off what did not finish in time
		return fmt.Errorf("shutdown: requests still running after %v were cut off: %w", g.Config.ShutdownTimeout, err)
	}
	logger.Info("shut down: every request in flight finished")
	return nil
}

// claimWatchRound lets one replica run each policy-watch round: the first
// to take the store's one-event allowance for most of an interval.
func (g *Gateway) claimWatchRound(ctx context.Context) bool {
	every := g.Config.Vetting.PolicyWatch * 9 / 10
	wait, err := g.Store.Allow(ctx, "policywatch:round", oauth.Limit{Burst: 1, Every: max(every, time.Second)})
	if err != nil {
		g.logger.WarnContext(ctx, "policy watch: claim a round", "err", err)
		return false
	}
	return wait <= 0
}

// SetupTelemetry starts OpenTelemetry tracing as the environment asks.
func SetupTelemetry(ctx context.Context, getenv func(string) string) (func(context.Context) error, error) {
	return telemetry.Setup(ctx, "patient-access-gateway", getenv)
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
