package gateway

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/fhir/catalog"
)

// UpstreamConfig is how the gateway reaches the plan's FHIR server
// (GATEWAY_FHIR_UPSTREAM_*). With URL empty the embedded store serves.
type UpstreamConfig struct {
	// URL is the upstream FHIR R4 base (GATEWAY_FHIR_UPSTREAM_URL).
	URL string
	// Token is a static bearer token for it (GATEWAY_FHIR_UPSTREAM_TOKEN).
	Token string
	// TokenURL turns on the client credentials grant against that token
	// endpoint (GATEWAY_FHIR_UPSTREAM_TOKEN_URL).
	TokenURL string
	// ClientID is the gateway's client id there (GATEWAY_FHIR_UPSTREAM_CLIENT_ID).
	ClientID string
	// ClientSecret authenticates with client_secret_basic
	// (GATEWAY_FHIR_UPSTREAM_CLIENT_SECRET).
	ClientSecret string
	// ClientKeyFile is a PEM private key (RSA ≥ 2048 bits or EC P-384) for
	// private_key_jwt, as SMART Backend Services asks
	// (GATEWAY_FHIR_UPSTREAM_CLIENT_KEY_FILE).
	ClientKeyFile string
	// ClientKeyID is the key's "kid" at the token server
	// (GATEWAY_FHIR_UPSTREAM_CLIENT_KEY_ID).
	ClientKeyID string
	// Scope is requested with client credentials
	// (GATEWAY_FHIR_UPSTREAM_SCOPE, default system/*.rs).
	Scope string
	// Timeout bounds one upstream call (GATEWAY_FHIR_UPSTREAM_TIMEOUT,
	// default 10s).
	Timeout time.Duration
}

// parseUpstream reads the GATEWAY_FHIR_UPSTREAM_* variables.
func parseUpstream(getenv func(string) string) (UpstreamConfig, error) {
	u := UpstreamConfig{
		URL: getenv("GATEWAY_FHIR_UPSTREAM_URL"), Token: getenv("GATEWAY_FHIR_UPSTREAM_TOKEN"),
		TokenURL: getenv("GATEWAY_FHIR_UPSTREAM_TOKEN_URL"), ClientID: getenv("GATEWAY_FHIR_UPSTREAM_CLIENT_ID"),
		ClientSecret: getenv("GATEWAY_FHIR_UPSTREAM_CLIENT_SECRET"), ClientKeyFile: getenv("GATEWAY_FHIR_UPSTREAM_CLIENT_KEY_FILE"),
		ClientKeyID: getenv("GATEWAY_FHIR_UPSTREAM_CLIENT_KEY_ID"), Scope: envOr(getenv, "GATEWAY_FHIR_UPSTREAM_SCOPE", "system/*.rs"),
	}
	if v := getenv("GATEWAY_FHIR_UPSTREAM_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return u, fmt.Errorf("GATEWAY_FHIR_UPSTREAM_TIMEOUT: %q is not a positive duration such as 10s", v)
		}
		u.Timeout = d
	}
	return u, nil
}

// validate reports every problem with the upstream settings.
func (u UpstreamConfig) validate() []error {
	var errs []error
	set := func(s string) bool { return s != "" }
	if u.URL == "" {
		if set(u.Token) || set(u.TokenURL) {
			errs = append(errs, errors.New("GATEWAY_FHIR_UPSTREAM_TOKEN and _TOKEN_URL need GATEWAY_FHIR_UPSTREAM_URL"))
		}
		return errs
	}
	if p, err := url.Parse(u.URL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" {
		errs = append(errs, fmt.Errorf("GATEWAY_FHIR_UPSTREAM_URL %q: want an absolute http(s) FHIR base URL without query", u.URL))
	}
	if set(u.Token) && set(u.TokenURL) {
		errs = append(errs, errors.New("set GATEWAY_FHIR_UPSTREAM_TOKEN or GATEWAY_FHIR_UPSTREAM_TOKEN_URL, not both"))
	}
	if set(u.TokenURL) {
		if !strings.HasPrefix(u.TokenURL, "https://") && !strings.HasPrefix(u.TokenURL, "http://") {
			errs = append(errs, errors.New("GATEWAY_FHIR_UPSTREAM_TOKEN_URL must be an http(s) URL"))
		}
		if u.ClientID == "" {
			errs = append(errs, errors.New("GATEWAY_FHIR_UPSTREAM_CLIENT_ID is required with GATEWAY_FHIR_UPSTREAM_TOKEN_URL"))
		}
		if set(u.ClientSecret) == set(u.ClientKeyFile) {
			errs = append(errs, errors.New("client credentials need exactly one of GATEWAY_FHIR_UPSTREAM_CLIENT_SECRET and GATEWAY_FHIR_UPSTREAM_CLIENT_KEY_FILE"))
		}
	} else if set(u.ClientID) || set(u.ClientSecret) || set(u.ClientKeyFile) {
		errs = append(errs, errors.New("GATEWAY_FHIR_UPSTREAM_CLIENT_* need GATEWAY_FHIR_UPSTREAM_TOKEN_URL"))
	}
	return errs
}

// auth builds the upstream authentication the settings ask for.
func (u UpstreamConfig) auth() (fhir.UpstreamAuth, error) {
	switch {
	case u.Token != "":
		return fhir.StaticBearer(u.Token), nil
	case u.TokenURL == "":
		return nil, nil
	}
	cc := &fhir.ClientCredentials{TokenURL: u.TokenURL, ClientID: u.ClientID, Secret: u.ClientSecret,
		KeyID: u.ClientKeyID, Scopes: strings.Fields(u.Scope)}
	if u.ClientKeyFile != "" {
		key, err := loadClientKey(u.ClientKeyFile)
		if err != nil {
			return nil, err
		}
		cc.Key = key
	}
	return cc, nil
}

// loadClientKey reads a PEM RSA or EC private key (PKCS#1, SEC 1 or PKCS#8).
func loadClientKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read upstream client key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("upstream client key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("upstream client key: %w", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("upstream client key: %T is not an RSA or EC key", k)
}

// openUpstream connects to the upstream and learns which types it can
// serve (its CapabilityStatement, intersected with the catalog). It tries
// a few times, since the gateway and its upstream often start together.
func openUpstream(ctx context.Context, u UpstreamConfig, logger *slog.Logger) (*fhir.Upstream, []*catalog.Type, error) {
	auth, err := u.auth()
	if err != nil {
		return nil, nil, err
	}
	up, err := fhir.NewUpstream(fhir.UpstreamConfig{BaseURL: u.URL, Auth: auth, Timeout: u.Timeout, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	var served []*catalog.Type
	var dropped []string
	for attempt := 1; ; attempt++ {
		served, dropped, err = up.ServedTypes(ctx, catalog.All())
		if err == nil || attempt == 3 {
			break
		}
		logger.WarnContext(ctx, "upstream FHIR server not ready; retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("upstream FHIR server %s: %w", u.URL, err)
	}
	for _, d := range dropped {
		logger.InfoContext(ctx, "type not served from the upstream", "why", d)
	}
	if len(served) == 0 {
		return nil, nil, fmt.Errorf("upstream FHIR server %s serves none of the types the gateway knows", u.URL)
	}
	return up, served, nil
}
