package oauth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	"github.com/ory/fosite/token/jwt"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth/oidcrp"
)

// Config is the authorization server's configuration.
type Config struct {
	// Issuer is the gateway's base URL, e.g. https://api.plan.example; the
	// OAuth endpoints live under it and it is the id_token issuer.
	Issuer string
	// FHIRBaseURL is the FHIR base, Issuer+"/fhir": the only accepted `aud`.
	FHIRBaseURL string
	// TokenSecret is the HMAC key for codes and tokens (at least 32 bytes);
	// every replica must share it.
	TokenSecret []byte
	// SigningKey signs id_tokens (RS256); every replica must share it.
	SigningKey *rsa.PrivateKey
	// Lifespans; zero values take the defaults below.
	AccessTokenLifespan  time.Duration // default 1h
	RefreshTokenLifespan time.Duration // default 90 days
	AuthCodeLifespan     time.Duration // default 1 minute
	LoginLifespan        time.Duration // default 30 minutes
	// GrantMonths is how long a time-limited grant lasts, in calendar
	// months; default 13. A one-time grant lasts OneTimeLifespan.
	GrantMonths int
	// OfferSensitive shows the consent page's opt-in for records the plan
	// labels sensitive; set it when the FHIR API withholds such labels.
	OfferSensitive bool
	// PlanSignIn, when set, signs members in through the plan's OpenID
	// provider (see PlanSignIn); Deps.Patients is then required.
	PlanSignIn *PlanSignIn
	// LocalLoginDisabled turns local password accounts off: the login page
	// offers only the plan's sign-in, and a password form is refused.
	LocalLoginDisabled bool
	// RegistrationEndpoint is where apps register (RFC 7591), advertised in
	// both discovery documents; empty advertises none.
	RegistrationEndpoint string
	// Throttles; zero values take DefaultLoginLimit, DefaultClientAuthLimit
	// and DefaultIntrospectLimit.
	LoginLimit      Limit
	ClientAuthLimit Limit
	IntrospectLimit Limit
}

// Defaults for Config's zero lifespans.
const (
	DefaultAccessTokenLifespan  = time.Hour
	DefaultRefreshTokenLifespan = 90 * 24 * time.Hour
	DefaultAuthCodeLifespan     = time.Minute
	DefaultLoginLifespan        = 30 * time.Minute
	DefaultGrantMonths          = 13
	// OneTimeLifespan is how long a one-time grant lasts: one access
	// token's life, with no refresh token.
	OneTimeLifespan = time.Hour
)

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Issuer, "http://") && !strings.HasPrefix(c.Issuer, "https://") {
		errs = append(errs, errors.New("issuer must be an http(s) URL"))
	}
	if c.FHIRBaseURL == "" {
		errs = append(errs, errors.New("FHIR base URL is required"))
	}
	if len(c.TokenSecret) < 32 {
		errs = append(errs, errors.New("token secret must be at least 32 bytes"))
	}
	if c.SigningKey == nil {
		errs = append(errs, errors.New("signing key is required"))
	}
	if c.PlanSignIn != nil {
		errs = append(errs, c.PlanSignIn.validate()...)
	}
	if c.GrantMonths < 0 || c.GrantMonths > 120 {
		errs = append(errs, errors.New("grant duration must be between 1 and 120 months"))
	}
	if c.LocalLoginDisabled && c.PlanSignIn == nil {
		errs = append(errs, errors.New("local login is off and no OpenID provider is configured: nobody could sign in"))
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AccessTokenLifespan, DefaultAccessTokenLifespan)
	def(&c.RefreshTokenLifespan, DefaultRefreshTokenLifespan)
	def(&c.AuthCodeLifespan, DefaultAuthCodeLifespan)
	def(&c.LoginLifespan, DefaultLoginLifespan)
	if c.GrantMonths <= 0 {
		c.GrantMonths = DefaultGrantMonths
	}
	if c.PlanSignIn != nil {
		sign := *c.PlanSignIn // a copy: the caller's value is not changed
		sign.setDefaults()
		c.PlanSignIn = &sign
	}
	limit := func(l *Limit, v Limit) {
		if l.Burst < 1 || l.Every <= 0 {
			*l = v
		}
	}
	limit(&c.LoginLimit, DefaultLoginLimit)
	limit(&c.ClientAuthLimit, DefaultClientAuthLimit)
	limit(&c.IntrospectLimit, DefaultIntrospectLimit)
}

// CSRF issues and checks the anti-forgery token of the login and consent
// forms. gateway/web.CSRF implements it.
type CSRF interface {
	Token(w http.ResponseWriter, r *http.Request) string
	Verify(r *http.Request) error
}

// Apps is what the server needs of the app registry: apps.Store satisfies it.
type Apps interface {
	AppSource
	CreateGrant(ctx context.Context, g apps.Grant) error
	ListGrants(ctx context.Context, member string) ([]apps.Grant, error)
	// ListMemberEvents is the member's access history (see apps.Store).
	ListMemberEvents(ctx context.Context, member, clientID string, limit int) ([]apps.Event, error)
	// GetAppLogo returns an app's logo (PNG), or apps.ErrNotFound.
	GetAppLogo(ctx context.Context, clientID string) ([]byte, error)
}

// RevocationNotifier is told each time a member ends an app's access, so
// that the app can be asked to delete what it holds (gateway/webhook sends
// it). It must return quickly: the member's revocation never waits on the
// app.
type RevocationNotifier interface {
	GrantsRevoked(ctx context.Context, r Revocation)
}

// Revocation is a member ending one app's access: the grants that ended,
// and the pairwise subject the app knows the member by.
type Revocation struct {
	ClientID string
	Subject  string // the pairwise sub of the app's id_tokens
	Patient  string // the FHIR Patient id the app was given
	Grants   []string
	At       time.Time
}

// Deps are the Server's collaborators.
type Deps struct {
	Storage Storage
	Apps    Apps
	Audit   apps.Auditor // may be nil
	CSRF    CSRF
	Logger  *slog.Logger
	Now     func() time.Time // nil means time.Now
	// UI renders every page (required).
	UI *ui.UI
	// Revoked, when set, is told of every revocation by a member.
	Revoked RevocationNotifier
	// ResourceTypes are the FHIR types the gateway serves, in the order a
	// patient/* scope is expanded in.
	ResourceTypes []ResourceType
	// Categories is the order the consent page lists data categories in.
	Categories []string
	// Patients finds members' Patients on the FHIR source; required with
	// Config.PlanSignIn.
	Patients PatientDirectory
	// HTTPClient calls the plan's OpenID provider; nil means a client with
	// a bounded timeout.
	HTTPClient *http.Client
}

// ResourceType is what the authorization server knows of one FHIR type the
// gateway serves: the FHIR catalog passes it in, so scopes, consent words
// and search restrictions stay in step with what the FHIR API enforces.
type ResourceType struct {
	Name string
	// Category is the consent page's data category the type belongs to
	// ("claims", "coverage"…): members tick categories, never types.
	Category string
	// SearchParams are the search parameters the FHIR API evaluates on the
	// type; a SMART v2 scope restriction naming any other is not honoured,
	// so it is never offered or granted.
	SearchParams []string
}

// Server is the authorization server: fosite wired by hand with typed
// handlers, plus the gateway's login, consent and account pages.
type Server struct {
	cfg      Config
	deps     Deps
	provider *fosite.Fosite
	store    *fositeStore
	// tokenStrategy makes and checks codes and tokens (HMAC); the client
	// authentication strategy uses it to find a refresh token's record.
	tokenStrategy *oauth2.HMACSHAStrategy
	// clientKeys finds private_key_jwt apps' public keys.
	clientKeys *clientKeys
	jwks       []byte
	kid        string // the signing key's id, in the JWKS and every id_token header
	// subjectKey keys the pairwise subjects of id_tokens and introspection.
	subjectKey []byte
	now        func() time.Time
	types      map[string]ResourceType
	scopes     []string   // scopes_supported in discovery
	plan       *oidcrp.RP // nil unless Config.PlanSignIn is set
	// claims caches access tokens' claims for CheckToken.
	claims claimsCache
	// gates keeps clients' introspection gates (introspectGate).
	gates gateCache
}

// New builds the server. It fails on an invalid configuration or a template
// that does not parse.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("oauth config: %w", err)
	}
	if cfg.PlanSignIn != nil && deps.Patients == nil {
		return nil, errors.New("oauth: plan sign-in needs a patient directory")
	}
	if deps.UI == nil {
		return nil, errors.New("oauth: the pages need a ui.UI")
	}
	cfg.setDefaults()
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	kid, err := keyID(&cfg.SigningKey.PublicKey)
	if err != nil {
		return nil, err
	}
	jwks, err := jwksDocument(&cfg.SigningKey.PublicKey, kid)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, jwks: jwks, kid: kid, now: deps.Now,
		types: map[string]ResourceType{}, scopes: scopesSupported(deps.ResourceTypes),
		subjectKey: subjectKey(cfg.TokenSecret), clientKeys: newClientKeys(deps.Now)}
	for _, t := range deps.ResourceTypes {
		s.types[t.Name] = t
	}
	s.store = &fositeStore{tokens: faultTokens{deps.Storage}, assertions: faultAssertions{deps.Storage},
		apps: faultApps{deps.Apps}, audience: cfg.FHIRBaseURL, now: deps.Now}
	s.provider = s.wire()
	if cfg.PlanSignIn != nil {
		client := deps.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: providerTimeout}
		}
		s.plan = newPlanRP(cfg, deps, client)
	}
	return s, nil
}

// wire builds the fosite provider with typed handler structs (not compose's
// untyped factories), so a store that lacks a method fails to compile.
func (s *Server) wire() *fosite.Fosite {
	fc := &fosite.Config{
		AccessTokenLifespan:            s.cfg.AccessTokenLifespan,
		RefreshTokenLifespan:           s.cfg.RefreshTokenLifespan,
		AuthorizeCodeLifespan:          s.cfg.AuthCodeLifespan,
		IDTokenLifespan:                s.cfg.AccessTokenLifespan,
		IDTokenIssuer:                  s.cfg.Issuer,
		AccessTokenIssuer:              s.cfg.Issuer,
		TokenURL:                       s.cfg.Issuer + PathToken,
		GlobalSecret:                   s.cfg.TokenSecret,
		EnforcePKCE:                    true,
		EnablePKCEPlainChallengeMethod: false,
		ScopeStrategy:                  scopeStrategy,
		AudienceMatchingStrategy:       exactAudience,
		RefreshTokenScopes:             []string{"offline_access"},
		ClientSecretsHasher:            sha256Hasher{},
		SendDebugMessagesToClients:     false,
		MinParameterEntropy:            8,
	}
	fc.ClientAuthenticationStrategy = s.authenticateClient
	hmacStrategy := compose.NewOAuth2HMACStrategy(fc)
	s.tokenStrategy = hmacStrategy
	key := s.cfg.SigningKey
	signer := &jwt.DefaultSigner{GetPrivateKey: func(context.Context) (interface{}, error) { return key, nil }}
	idTokens := &openid.DefaultStrategy{Signer: signer, Config: fc}

	authCode := &oauth2.AuthorizeExplicitGrantHandler{
		AccessTokenStrategy: hmacStrategy, RefreshTokenStrategy: hmacStrategy, AuthorizeCodeStrategy: hmacStrategy,
		CoreStorage: s.store, TokenRevocationStorage: s.store, Config: fc,
	}
	refresh := refreshGrant{&oauth2.RefreshTokenGrantHandler{
		AccessTokenStrategy: hmacStrategy, RefreshTokenStrategy: hmacStrategy,
		TokenRevocationStorage: s.store, Config: fc,
	}}
	pkceHandler := &pkce.Handler{AuthorizeCodeStrategy: hmacStrategy, Storage: s.store, Config: fc}
	oidcHelper := &openid.IDTokenHandleHelper{IDTokenStrategy: idTokens}
	oidcExplicit := &openid.OpenIDConnectExplicitHandler{
		IDTokenHandleHelper:           oidcHelper,
		OpenIDConnectRequestValidator: openid.NewOpenIDConnectRequestValidator(signer, fc),
		OpenIDConnectRequestStorage:   s.store,
		Config:                        fc,
	}
	oidcRefresh := &openid.OpenIDConnectRefreshHandler{IDTokenHandleHelper: oidcHelper, Config: fc}
	introspect := &oauth2.CoreValidator{CoreStrategy: hmacStrategy, CoreStorage: s.store, Config: fc}
	revoke := &oauth2.TokenRevocationHandler{
		TokenRevocationStorage: s.store, AccessTokenStrategy: hmacStrategy, RefreshTokenStrategy: hmacStrategy,
	}

	// The PKCE handler must come after the authorize-code handler.
	fc.AuthorizeEndpointHandlers = fosite.AuthorizeEndpointHandlers{authCode, pkceHandler, oidcExplicit}
	fc.TokenEndpointHandlers = fosite.TokenEndpointHandlers{authCode, refresh, pkceHandler, oidcExplicit, oidcRefresh}
	fc.TokenIntrospectionHandlers = fosite.TokenIntrospectionHandlers{introspect}
	fc.RevocationHandlers = fosite.RevocationHandlers{revoke}
	return fosite.NewOAuth2Provider(s.store, fc)
}

// exactAudience accepts only audiences the client is registered for,
// compared exactly (fosite's default is a prefix match). SMART's own `aud`
// parameter is checked by the authorize handler.
func exactAudience(haystack []string, needle []string) error {
	for _, n := range needle {
		ok := false
		for _, h := range haystack {
			ok = ok || h == n
		}
		if !ok {
			return fosite.ErrInvalidRequest.WithHint("The requested audience is not allowed.")
		}
	}
	return nil
}

// sha256Hasher compares client secrets by their SHA-256, in constant time.
// Secrets are 256-bit server-generated values, so a slow hash adds nothing.
type sha256Hasher struct{}

// Compare implements fosite.Hasher.
func (sha256Hasher) Compare(_ context.Context, hash, data []byte) error {
	if !apps.SecretMatches(hash, string(data)) {
		return errors.New("client secret does not match")
	}
	return nil
}

// Hash implements fosite.Hasher.
func (sha256Hasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return apps.HashSecret(string(data)), nil
}
