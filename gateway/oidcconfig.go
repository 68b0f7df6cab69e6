package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// OIDCConfig is member sign-in through the plan's OpenID Connect provider
// (all from the environment; the secret only from there).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (GATEWAY_OIDC_ISSUER). Empty:
	// members sign in with local accounts only.
	Issuer string
	// ClientID and ClientSecret are the gateway's client at the provider
	// (GATEWAY_OIDC_CLIENT_ID, GATEWAY_OIDC_CLIENT_SECRET).
	ClientID, ClientSecret string
	// Scopes requested at the provider (GATEWAY_OIDC_SCOPES, space
	// separated). Default "openid".
	Scopes []string
	// MemberClaim is the id_token claim naming the member
	// (GATEWAY_OIDC_MEMBER_CLAIM). Default "sub".
	MemberClaim string
	// MemberLink says how the claim names the Patient (GATEWAY_MEMBER_LINK):
	// "patient-id" or "identifier:SYSTEM". Required with Issuer.
	MemberLink string
	// LinkMaxAge is how long a member's Patient link is trusted before it is
	// looked up again (GATEWAY_MEMBER_LINK_MAX_AGE, a Go duration). Default 24h.
	LinkMaxAge time.Duration
	// DisableLocalLogin turns local password accounts off
	// (GATEWAY_LOCAL_LOGIN=false). Needs Issuer.
	DisableLocalLogin bool

	// AdminRoleClaim turns on admin console sign-in through the same
	// provider and client (GATEWAY_ADMIN_OIDC_ROLE_CLAIM): the id_token
	// claim (a string or an array, such as "groups") whose values give the
	// console roles. Empty: staff sign in with local accounts (demo) only.
	AdminRoleClaim string
	// AdminValues and ReviewerValues are the claim values that make
	// someone an admin or a reviewer (GATEWAY_ADMIN_OIDC_ADMIN_VALUES,
	// GATEWAY_ADMIN_OIDC_REVIEWER_VALUES, comma-separated). Defaults
	// "gateway-admin" and "gateway-reviewer".
	AdminValues, ReviewerValues []string
	// AdminScopes are asked of the provider when staff sign in
	// (GATEWAY_ADMIN_OIDC_SCOPES, space separated); default Scopes.
	AdminScopes []string
}

// parse reads the OIDC settings from the environment and returns what did
// not parse.
func (o *OIDCConfig) parse(getenv func(string) string) []error {
	var errs []error
	o.Issuer = getenv("GATEWAY_OIDC_ISSUER")
	o.ClientID = getenv("GATEWAY_OIDC_CLIENT_ID")
	o.ClientSecret = getenv("GATEWAY_OIDC_CLIENT_SECRET")
	o.Scopes = strings.Fields(getenv("GATEWAY_OIDC_SCOPES"))
	o.MemberClaim = getenv("GATEWAY_OIDC_MEMBER_CLAIM")
	o.MemberLink = getenv("GATEWAY_MEMBER_LINK")
	if v := getenv("GATEWAY_MEMBER_LINK_MAX_AGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("GATEWAY_MEMBER_LINK_MAX_AGE: %q is not a positive duration such as 24h", v))
		}
		o.LinkMaxAge = d
	}
	o.AdminRoleClaim = strings.TrimSpace(getenv("GATEWAY_ADMIN_OIDC_ROLE_CLAIM"))
	o.AdminValues = commaList(getenv("GATEWAY_ADMIN_OIDC_ADMIN_VALUES"))
	o.ReviewerValues = commaList(getenv("GATEWAY_ADMIN_OIDC_REVIEWER_VALUES"))
	o.AdminScopes = strings.Fields(getenv("GATEWAY_ADMIN_OIDC_SCOPES"))
	if v := getenv("GATEWAY_LOCAL_LOGIN"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("GATEWAY_LOCAL_LOGIN: %q is not true or false", v))
		}
		o.DisableLocalLogin = err == nil && !b
	}
	return errs
}

// validate reports every missing or contradictory OIDC setting at once.
func (o OIDCConfig) validate() []error {
	var errs []error
	if o.Issuer == "" {
		for name, v := range map[string]bool{"GATEWAY_OIDC_CLIENT_ID": o.ClientID != "", "GATEWAY_OIDC_CLIENT_SECRET": o.ClientSecret != "",
			"GATEWAY_OIDC_MEMBER_CLAIM": o.MemberClaim != "", "GATEWAY_MEMBER_LINK": o.MemberLink != "", "GATEWAY_OIDC_SCOPES": len(o.Scopes) > 0} {
			if v {
				errs = append(errs, fmt.Errorf("%s is set but GATEWAY_OIDC_ISSUER is not", name))
			}
		}
		if o.DisableLocalLogin {
			errs = append(errs, errors.New("GATEWAY_LOCAL_LOGIN=false needs GATEWAY_OIDC_ISSUER: nobody could sign in"))
		}
		if o.AdminRoleClaim != "" {
			errs = append(errs, errors.New("GATEWAY_ADMIN_OIDC_ROLE_CLAIM is set but GATEWAY_OIDC_ISSUER is not"))
		}
		return sortErrs(errs)
	}
	u, err := url.Parse(o.Issuer)
	switch {
	case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("GATEWAY_OIDC_ISSUER %q: want an absolute URL without query", o.Issuer))
	case u.Scheme != "https" && (u.Scheme != "http" || !isLoopback(u.Hostname())):
		errs = append(errs, fmt.Errorf("GATEWAY_OIDC_ISSUER %q: must be https (http only on a loopback address)", o.Issuer))
	}
	for name, missing := range map[string]bool{"GATEWAY_OIDC_CLIENT_ID": o.ClientID == "", "GATEWAY_OIDC_CLIENT_SECRET": o.ClientSecret == "",
		"GATEWAY_MEMBER_LINK": o.MemberLink == ""} {
		if missing {
			errs = append(errs, fmt.Errorf("%s is required with GATEWAY_OIDC_ISSUER", name))
		}
	}
	if o.MemberLink != "" {
		if _, err := oauth.ParseLinkRule(o.MemberLink); err != nil {
			errs = append(errs, fmt.Errorf("GATEWAY_MEMBER_LINK: %w", err))
		}
	}
	if len(o.Scopes) > 0 && !slices.Contains(o.Scopes, "openid") {
		errs = append(errs, errors.New("GATEWAY_OIDC_SCOPES must include openid"))
	}
	if len(o.AdminScopes) > 0 && !slices.Contains(o.AdminScopes, "openid") {
		errs = append(errs, errors.New("GATEWAY_ADMIN_OIDC_SCOPES must include openid"))
	}
	if o.AdminRoleClaim == "" && (len(o.AdminValues) > 0 || len(o.ReviewerValues) > 0 || len(o.AdminScopes) > 0) {
		errs = append(errs, errors.New("GATEWAY_ADMIN_OIDC_ADMIN_VALUES, _REVIEWER_VALUES and _SCOPES need GATEWAY_ADMIN_OIDC_ROLE_CLAIM"))
	}
	for _, a := range o.AdminValues {
		if slices.Contains(o.ReviewerValues, a) {
			errs = append(errs, fmt.Errorf("%q is both an admin and a reviewer value", a))
		}
	}
	return sortErrs(errs)
}

// planSignIn is the oauth configuration, or nil when sign-in through a
// provider is off. It assumes validate passed.
func (o OIDCConfig) planSignIn() *oauth.PlanSignIn {
	if o.Issuer == "" {
		return nil
	}
	rule, _ := oauth.ParseLinkRule(o.MemberLink)
	p := &oauth.PlanSignIn{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: o.Scopes,
		MemberClaim: o.MemberClaim, Link: rule, LinkMaxAge: o.LinkMaxAge}
	if len(p.Scopes) == 0 {
		p.Scopes = []string{"openid"}
	}
	if p.MemberClaim == "" {
		p.MemberClaim = "sub"
	}
	return p
}

// commaList splits a comma-separated setting, dropping empty items.
func commaList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// sortErrs orders errors by text, so that a report built from a map reads
// the same every time.
func sortErrs(errs []error) []error {
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}
