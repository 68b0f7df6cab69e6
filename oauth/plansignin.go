package oauth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth/oidcrp"
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

// providerTimeout bounds every call to the provider.
const providerTimeout = oidcrp.ProviderTimeout

// The sign-in routes. PathPlanCallback is the redirect URI to register at
// the provider: {base}/login/oidc/callback.
const (
	PathPlanSignIn   = "/login/oidc"
	PathPlanCallback = "/login/oidc/callback"
)

func (p *PlanSignIn) validate() []error {
	return oidcrp.Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret, Scopes: p.Scopes}.Validate()
}

func (p *PlanSignIn) setDefaults() {
	if p.MemberClaim == "" {
		p.MemberClaim = "sub"
	}
	if p.LinkMaxAge <= 0 {
		p.LinkMaxAge = DefaultLinkMaxAge
	}
}

// newPlanRP is the relying party members sign in through.
func newPlanRP(cfg Config, deps Deps, client *http.Client) *oidcrp.RP {
	sign := cfg.PlanSignIn
	return oidcrp.New(oidcrp.Config{Issuer: sign.Issuer, ClientID: sign.ClientID, ClientSecret: sign.ClientSecret,
		Scopes: sign.Scopes, RedirectURL: cfg.Issuer + PathPlanCallback, StateCookie: "pag_signin",
		Secure: strings.HasPrefix(cfg.Issuer, "https://"), Secret: cfg.TokenSecret, HTTPClient: client,
		Now: deps.Now, Logger: deps.Logger})
}

// serveSignInStart sends the member to the provider with a fresh state,
// nonce and PKCE challenge, remembered in the sealed state cookie.
func (s *Server) serveSignInStart(w http.ResponseWriter, r *http.Request) {
	ret, ok := localPath(r.URL.Query().Get("return_to"))
	if !ok {
		ret = PathAccount
	}
	u, err := s.plan.Start(r.Context(), w, ret)
	var rerr *oidcrp.Error
	switch {
	case errors.As(err, &rerr):
		s.refuseSignIn(w, r, refusal{status: http.StatusServiceUnavailable, outcome: "error",
			reason: rerr.Reason, problem: ui.ProblemSignInUnreachable, cause: err})
		return
	case err != nil:
		s.refuseSignIn(w, r, refusal{status: http.StatusInternalServerError, outcome: "error", reason: "state not sealed",
			problem: ui.ProblemSignInFailed, cause: err})
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// serveSignInCallback is where the provider sends the member back: decide,
// then either start the gateway session or show why not.
func (s *Server) serveSignInCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	idt, ret, err := s.plan.Finish(w, r)
	if err != nil {
		s.refuseSignIn(w, r, signInRefusal(err))
		return
	}
	m, ref := s.memberFromIDToken(ctx, idt)
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
	http.Redirect(w, r, ret, http.StatusSeeOther)
}
