package gateway

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// Config is everything an operator can set. Each field names its flag and
// environment variable; flags win over the environment.
type Config struct {
	// Addr is where the server listens (--addr, GATEWAY_ADDR). Default 127.0.0.1:8080.
	Addr string
	// BaseURL is what the gateway calls itself in links, discovery and
	// tokens (--base-url, GATEWAY_BASE_URL). Default http://{Addr}. Outside
	// demo mode it must be https unless its host is loopback.
	BaseURL string
	// RedisURL selects the Redis store (GATEWAY_REDIS_URL): redis://,
	// rediss://, redis+sentinel:// or redis+cluster://. Empty: in-memory.
	RedisURL string
	// RedisKeyPrefix starts every key the gateway writes to Redis
	// (GATEWAY_REDIS_KEY_PREFIX), so deployments can share one Redis
	// database without meeting; the rate limiter's keys are
	// "rate:"+prefix+…. Default "pag:". It must not contain '{' or '}'
	// (the hash tags that keep related keys in one Cluster slot).
	RedisKeyPrefix string
	// IntrospectLimit throttles introspection per authenticated client
	// (GATEWAY_INTROSPECT_LIMIT, "BURST,EVERY" such as "120,500ms"): Burst
	// calls at once, then one per Every. Zero: oauth.DefaultIntrospectLimit.
	IntrospectLimit oauth.Limit
	// Demo seeds the demo members, data and app (--demo, GATEWAY_DEMO).
	// Default: on when neither Redis nor an upstream FHIR server is
	// configured. With an upstream, only the members and the app are seeded.
	Demo bool
	// DemoPassword is the demo members' password (GATEWAY_DEMO_PASSWORD);
	// generated and printed when empty.
	DemoPassword string
	// AdminToken is the admin API's bearer credential (GATEWAY_ADMIN_TOKEN).
	// Empty: generated and printed in demo mode; the admin API is off otherwise.
	AdminToken string
	// TokenSecret is the HMAC key for codes and tokens (GATEWAY_TOKEN_SECRET,
	// at least 32 characters). Replicas must share it. Generated when empty,
	// so tokens do not survive a restart.
	TokenSecret string
	// SigningKeyFile is a PEM RSA private key that signs id_tokens
	// (GATEWAY_SIGNING_KEY_FILE). Replicas must share it. Generated when empty.
	SigningKeyFile string
	// Upstream puts the FHIR API in front of the plan's FHIR server
	// (GATEWAY_FHIR_UPSTREAM_*); empty URL: the embedded store serves.
	Upstream UpstreamConfig
	// DataDir is a directory of FHIR Bundles and NDJSON files loaded into
	// the embedded source at start-up (--data, GATEWAY_DATA_DIR), together
	// with the demo data in demo mode.
	DataDir string
	// OIDC is member sign-in through the plan's OpenID provider.
	OIDC OIDCConfig
	// RequestTimeout is every request's deadline (GATEWAY_REQUEST_TIMEOUT,
	// a Go duration): a store call still waiting then fails and the
	// request is answered 503. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// ShutdownTimeout bounds the drain on SIGTERM (GATEWAY_SHUTDOWN_TIMEOUT):
	// in-flight requests get this long to finish. Default
	// DefaultShutdownTimeout; keep it under the orchestrator's grace period.
	ShutdownTimeout time.Duration
	// AuditRetention is how long audit events are kept
	// (GATEWAY_AUDIT_RETENTION). Default DefaultAuditRetention.
	AuditRetention time.Duration
	// Plan is the plan's branding and choices for its members' pages.
	Plan PlanConfig
	// Vetting is how third-party apps register and are reviewed.
	Vetting VettingConfig
	// Pprof serves Go's profiler under /admin/debug/pprof/, behind the
	// admin token (--pprof, GATEWAY_PPROF). Off by default; refused
	// without an admin token.
	Pprof bool
}

// Defaults for the durations of Config.
const (
	DefaultRequestTimeout  = 10 * time.Second
	DefaultShutdownTimeout = 15 * time.Second
	DefaultAuditRetention  = apps.DefaultAuditRetention
)

// DefaultRedisKeyPrefix starts every Redis key unless
// GATEWAY_REDIS_KEY_PREFIX says otherwise.
const DefaultRedisKeyPrefix = "pag:"

// ParseConfig reads the `serve` flags and the environment.
func ParseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "GATEWAY_ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&c.BaseURL, "base-url", getenv("GATEWAY_BASE_URL"), "public base URL (default http://ADDR)")
	demoDefault := getenv("GATEWAY_REDIS_URL") == "" && getenv("GATEWAY_FHIR_UPSTREAM_URL") == ""
	if v := getenv("GATEWAY_DEMO"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("GATEWAY_DEMO: %q is not true or false", v)
		}
		demoDefault = b
	}
	fs.BoolVar(&c.Demo, "demo", demoDefault, "seed demo members, data and app")
	fs.StringVar(&c.DataDir, "data", getenv("GATEWAY_DATA_DIR"), "directory of FHIR Bundles and NDJSON to serve")
	pprofDefault := false
	if v := getenv("GATEWAY_PPROF"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("GATEWAY_PPROF: %q is not true or false", v)
		}
		pprofDefault = b
	}
	fs.BoolVar(&c.Pprof, "pprof", pprofDefault, "serve Go's profiler under /admin/debug/pprof/ (admin token required)")
	err := fs.Parse(args)
	if err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	c.RedisURL = getenv("GATEWAY_REDIS_URL")
	c.RedisKeyPrefix = envOr(getenv, "GATEWAY_REDIS_KEY_PREFIX", DefaultRedisKeyPrefix)
	c.DemoPassword = getenv("GATEWAY_DEMO_PASSWORD")
	c.AdminToken = getenv("GATEWAY_ADMIN_TOKEN")
	c.TokenSecret = getenv("GATEWAY_TOKEN_SECRET")
	c.SigningKeyFile = getenv("GATEWAY_SIGNING_KEY_FILE")
	if c.Upstream, err = parseUpstream(getenv); err != nil {
		return c, err
	}
	errs := parseDurations(getenv, &c)
	if v := getenv("GATEWAY_INTROSPECT_LIMIT"); v != "" {
		if c.IntrospectLimit, err = ParseLimit(v); err != nil {
			errs = append(errs, fmt.Errorf("GATEWAY_INTROSPECT_LIMIT: %w", err))
		}
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	errs = append(errs, c.OIDC.parse(getenv)...)
	errs = append(errs, c.Plan.parse(getenv)...)
	errs = append(errs, c.Vetting.parse(getenv)...)
	return c, errors.Join(append(errs, c.Validate())...)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// Validate reports every problem at once and changes nothing.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: want host:port", c.Addr))
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("base URL %q: want an absolute http(s) URL without query", c.BaseURL))
	} else if u.Scheme == "http" && !c.Demo && !isLoopbackHost(u.Hostname()) {
		errs = append(errs, fmt.Errorf("base URL %q must use https outside demo mode (plain http is allowed only on a loopback host): codes, tokens and member sessions would cross the network in the clear", c.BaseURL))
	}
	if c.TokenSecret != "" && len(c.TokenSecret) < 32 {
		errs = append(errs, errors.New("GATEWAY_TOKEN_SECRET must be at least 32 characters"))
	}
	if c.RedisURL != "" && !c.Demo && c.TokenSecret == "" {
		errs = append(errs, errors.New("GATEWAY_TOKEN_SECRET is required with Redis: every replica must share it"))
	}
	if c.RedisURL != "" && !c.Demo && c.SigningKeyFile == "" {
		errs = append(errs, errors.New("GATEWAY_SIGNING_KEY_FILE is required with Redis: every replica must sign id_tokens with the same key"))
	}
	if strings.ContainsAny(c.RedisKeyPrefix, "{}") {
		errs = append(errs, fmt.Errorf("GATEWAY_REDIS_KEY_PREFIX %q must not contain { or }: they would change the keys' Redis Cluster hash slots", c.RedisKeyPrefix))
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, errors.New("GATEWAY_ADMIN_TOKEN must be at least 16 characters"))
	}
	if c.Pprof && c.AdminToken == "" && !c.Demo {
		errs = append(errs, errors.New("--pprof/GATEWAY_PPROF needs GATEWAY_ADMIN_TOKEN: the profiler is served only behind the admin token"))
	}
	errs = append(errs, c.Upstream.validate()...)
	if c.DataDir != "" && c.Upstream.URL != "" {
		// The FHIR API then serves only from the upstream: files would never be read.
		errs = append(errs, errors.New("--data/GATEWAY_DATA_DIR loads the embedded FHIR source: it cannot be combined with GATEWAY_FHIR_UPSTREAM_URL"))
	}
	errs = append(errs, c.OIDC.validate()...)
	if c.RequestTimeout < 0 || c.ShutdownTimeout < 0 || c.AuditRetention < 0 {
		errs = append(errs, errors.New("request timeout, shutdown timeout and audit retention must not be negative"))
	}
	errs = append(errs, c.Plan.validate()...)
	if c.OIDC.Issuer != "" && c.Plan.MemberServices == "" {
		// A member the provider signs in but who matches no record is sent there.
		errs = append(errs, errors.New("GATEWAY_PLAN_HELP_CONTACT is required with GATEWAY_OIDC_ISSUER"))
	}
	return errors.Join(errs...)
}

// Bounds of GATEWAY_INTROSPECT_LIMIT: a burst of 1 to a million calls, then
// one call per microsecond to one per hour.
const (
	maxLimitBurst = 1_000_000
	minLimitEvery = time.Microsecond
	maxLimitEvery = time.Hour
)

// ParseLimit reads a throttle limit written "BURST,EVERY": BURST events at
// once, then one per EVERY (a Go duration), e.g. "120,500ms".
func ParseLimit(v string) (oauth.Limit, error) {
	b, e, ok := strings.Cut(v, ",")
	if !ok {
		return oauth.Limit{}, fmt.Errorf("%q: want BURST,EVERY such as 120,500ms", v)
	}
	burst, err := strconv.Atoi(strings.TrimSpace(b))
	if err != nil || burst < 1 || burst > maxLimitBurst {
		return oauth.Limit{}, fmt.Errorf("%q: the burst must be a whole number from 1 to %d", v, maxLimitBurst)
	}
	every, err := time.ParseDuration(strings.TrimSpace(e))
	if err != nil || every < minLimitEvery || every > maxLimitEvery {
		return oauth.Limit{}, fmt.Errorf("%q: the period must be a duration from %s to %s, such as 500ms", v, minLimitEvery, maxLimitEvery)
	}
	return oauth.Limit{Burst: burst, Every: every}, nil
}

// isLoopbackHost reports localhost and the loopback addresses (127.0.0.0/8, ::1).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseDurations reads the duration settings from the environment, then
// gives the unset ones their defaults.
func parseDurations(getenv func(string) string, c *Config) []error {
	var errs []error
	for env, to := range map[string]*time.Duration{
		"GATEWAY_REQUEST_TIMEOUT": &c.RequestTimeout, "GATEWAY_SHUTDOWN_TIMEOUT": &c.ShutdownTimeout,
		"GATEWAY_AUDIT_RETENTION": &c.AuditRetention,
	} {
		if v := getenv(env); v != "" {
			var err error
			if *to, err = time.ParseDuration(v); err != nil || *to <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive duration such as 10s or 2160h", env, v))
			}
		}
	}
	c.setDefaults()
	return errs
}

// setDefaults gives zero durations their defaults.
func (c *Config) setDefaults() {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.RequestTimeout, DefaultRequestTimeout}, {&c.ShutdownTimeout, DefaultShutdownTimeout}, {&c.AuditRetention, DefaultAuditRetention},
		{&c.Vetting.PolicyWatch, DefaultPolicyWatch}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
}

// FHIRBaseURL is the FHIR base: {base}/fhir.
func (c Config) FHIRBaseURL() string { return c.BaseURL + "/fhir" }

// loadSigningKey reads a PEM RSA private key (PKCS#1 or PKCS#8).
func loadSigningKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("signing key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("signing key: not an RSA key")
	}
	return rk, nil
}
