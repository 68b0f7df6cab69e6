package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway/ui"
)

// PlanSignIn configures member sign-in through the plan's OpenID Connect
// provider: the gateway is a relying party using the authorization code
// flow with PKCE (S256), state and nonce (OpenID Connect Core §3.1).
type PlanSignIn struct {
	// Issuer is the provider's issuer URL; discovery is read from
	// {Issuer}/.well-known/openid-configuration and must name it exactly.
	Issuer string
	// ClientID and ClientSecret are the gateway's credentials at the
	// provider (client_secret_basic, or _post if that is all it offers).
	ClientID, ClientSecret string
	// Scopes are requested at the provider; they must include openid.
	Scopes []string
	// MemberClaim is the id_token claim that names the member: the Patient
	// id or a member identifier, as Link says. Default "sub".
	MemberClaim string
	// Link says how MemberClaim is matched to a Patient.
	Link LinkRule
	// LinkMaxAge is how long a stored link is trusted before the FHIR
	// source is asked again. Default DefaultLinkMaxAge.
	LinkMaxAge time.Duration
	// The button says "Sign in with {plan name}", and a member who cannot
	// be signed in is sent to member services: both come from the plan's
	// branding (gateway/ui.Branding).
}

// DefaultLinkMaxAge is PlanSignIn.LinkMaxAge's default.
const DefaultLinkMaxAge = 24 * time.Hour

// discoveryRefresh is how long a fetched discovery document is used before
// it is fetched again; providerTimeout bounds every call to the provider.
const (
	discoveryRefresh = time.Hour
	providerTimeout  = 10 * time.Second
)

// The sign-in routes. PathPlanCallback is the redirect URI to register at
// the provider: {base}/login/oidc/callback.
const (
	PathPlanSignIn   = "/login/oidc"
	PathPlanCallback = "/login/oidc/callback"
)

func (p *PlanSignIn) validate() []error {
	var errs []error
	u, err := url.Parse(p.Issuer)
	switch {
	case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("OIDC issuer %q: want an absolute URL without query", p.Issuer))
	case u.Scheme != "https" && (u.Scheme != "http" || !loopback(u.Hostname())):
		errs = append(errs, fmt.Errorf("OIDC issuer %q: must be https (http only on a loopback address)", p.Issuer))
	}
	if p.ClientID == "" {
		errs = append(errs, errors.New("OIDC client id is required"))
	}
	if p.ClientSecret == "" {
		errs = append(errs, errors.New("OIDC client secret is required"))
	}
	if !slices.Contains(p.Scopes, oidc.ScopeOpenID) {
		errs = append(errs, errors.New("OIDC scopes must include openid"))
	}
	return errs
}

func (p *PlanSignIn) setDefaults() {
	if p.MemberClaim == "" {
		p.MemberClaim = "sub"
	}
	if p.LinkMaxAge <= 0 {
		p.LinkMaxAge = DefaultLinkMaxAge
	}
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// planProvider caches the provider's discovery document. go-oidc fetches
// discovery once per oidc.Provider and never again; its remote key set
// keeps the JWKS in memory and fetches it again only when an id_token is
// signed by a key it does not hold (one fetch at a time). So the gateway
// fetches discovery lazily, at the first sign-in, and again once it is
// discoveryRefresh old, which also starts a fresh key set. A failed
// refresh keeps the last good document, and the next sign-in retries.
type planProvider struct {
	issuer string
	client *http.Client
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	p       *oidc.Provider
	fetched time.Time
}

// get returns the provider's metadata, fetching it when absent or stale.
func (d *planProvider) get(ctx context.Context) (*oidc.Provider, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p != nil && d.now().Sub(d.fetched) < discoveryRefresh {
		return d.p, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, d.client), providerTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, d.issuer)
	if err != nil {
		if d.p != nil {
			d.logger.WarnContext(ctx, "OpenID provider discovery refresh failed; keeping the last document", "err", err)
			return d.p, nil
		}
		return nil, fmt.Errorf("OpenID provider discovery: %w", err)
	}
	d.p, d.fetched = p, d.now()
	return p, nil
}

// oauth2Config is the relying party's OAuth client for the provider.
func (s *Server) oauth2Config(p *oidc.Provider) *oauth2.Config {
	sign := s.cfg.PlanSignIn
	return &oauth2.Config{ClientID: sign.ClientID, ClientSecret: sign.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: s.cfg.Issuer + PathPlanCallback, Scopes: sign.Scopes}
}

// serveSignInStart sends the member to the provider with a fresh state,
// nonce and PKCE challenge, remembered in the sealed state cookie.
func (s *Server) serveSignInStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ret, ok := localPath(r.URL.Query().Get("return_to"))
	if !ok {
		ret = PathAccount
	}
	p, err := s.plan.get(ctx)
	if err != nil {
		s.refuseSignIn(w, r, refusal{status: http.StatusServiceUnavailable, outcome: "error",
			reason: "provider unreachable", problem: ui.ProblemSignInUnreachable, cause: err})
		return
	}
	st := s.newSignInState(ret)
	if err := s.putSignInState(w, st); err != nil {
		s.refuseSignIn(w, r, refusal{status: http.StatusInternalServerError, outcome: "error", reason: "state not sealed",
			problem: ui.ProblemSignInFailed, cause: err})
		return
	}
	u := s.oauth2Config(p).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// serveSignInCallback is where the provider sends the member back: decide,
// then either start the gateway session or show why not.
func (s *Server) serveSignInCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := s.takeSignInState(w, r)
	if err != nil {
		s.refuseSignIn(w, r, refusal{status: http.StatusBadRequest, outcome: "denied", reason: stateReason(err), cause: err,
			problem: ui.ProblemSignInExpired})
		return
	}
	m, ref := s.finishSignIn(ctx, r, st)
	if ref != nil {
		s.refuseSignIn(w, r, *ref)
		return
	}
	if err := s.startSession(w, r, m); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrUnavailable) {
			status = http.StatusServiceUnavailable
		}
		s.refuseSignIn(w, r, refusal{status: status, outcome: "error", reason: "session not stored",
			member: m.Username, problem: ui.ProblemSignInFailed, cause: err})
		return
	}
	s.audit(ctx, auditSignIn("success", m.Username, m.PatientID, "linked by "+s.cfg.PlanSignIn.Link.String()))
	http.Redirect(w, r, st.ReturnTo, http.StatusSeeOther)
}
