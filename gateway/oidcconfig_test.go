package gateway

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseConfigOIDC checks the plan sign-in settings: defaults, a
// complete configuration, and that every missing or contradictory setting
// is reported at once.
func TestParseConfigOIDC(t *testing.T) {
	full := map[string]string{
		"GATEWAY_OIDC_ISSUER": "https://login.plan.example", "GATEWAY_OIDC_CLIENT_ID": "gw", "GATEWAY_OIDC_CLIENT_SECRET": "s3cret",
		"GATEWAY_MEMBER_LINK": "identifier:https://plan.example/member-id", "GATEWAY_PLAN_HELP_CONTACT": "1-800-555-0100",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for k, v := range extra {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		check   func(OIDCConfig) bool
		wantErr []string
	}{
		{name: "off by default", env: nil, check: func(o OIDCConfig) bool { return o.planSignIn() == nil && !o.DisableLocalLogin }},
		{name: "defaults", env: full, check: func(o OIDCConfig) bool {
			p := o.planSignIn()
			return p != nil && slices.Equal(p.Scopes, []string{"openid"}) && p.MemberClaim == "sub" &&
				p.Link.System == "https://plan.example/member-id" && p.ClientSecret == "s3cret"
		}},
		{name: "everything set", env: with(map[string]string{"GATEWAY_OIDC_SCOPES": "openid profile member", "GATEWAY_OIDC_MEMBER_CLAIM": "member_id",
			"GATEWAY_MEMBER_LINK_MAX_AGE": "6h", "GATEWAY_PLAN_NAME": "Acme Health", "GATEWAY_LOCAL_LOGIN": "false"}),
			check: func(o OIDCConfig) bool {
				p := o.planSignIn()
				return len(p.Scopes) == 3 && p.MemberClaim == "member_id" && p.LinkMaxAge == 6*time.Hour && o.DisableLocalLogin
			}},
		{name: "http issuer on loopback", env: with(map[string]string{"GATEWAY_OIDC_ISSUER": "http://127.0.0.1:9999"}),
			check: func(o OIDCConfig) bool { return o.planSignIn() != nil }},
		{name: "incomplete, all at once", env: map[string]string{"GATEWAY_OIDC_ISSUER": "http://idp.example", "GATEWAY_OIDC_SCOPES": "profile",
			"GATEWAY_MEMBER_LINK_MAX_AGE": "soon", "GATEWAY_LOCAL_LOGIN": "perhaps"},
			wantErr: []string{"GATEWAY_OIDC_ISSUER \"http://idp.example\": must be https", "GATEWAY_OIDC_CLIENT_ID is required",
				"GATEWAY_OIDC_CLIENT_SECRET is required", "GATEWAY_MEMBER_LINK is required", "GATEWAY_PLAN_HELP_CONTACT is required",
				"GATEWAY_OIDC_SCOPES must include openid", "GATEWAY_MEMBER_LINK_MAX_AGE", "GATEWAY_LOCAL_LOGIN"}},
		{name: "settings without an issuer", env: map[string]string{"GATEWAY_OIDC_CLIENT_ID": "gw", "GATEWAY_OIDC_CLIENT_SECRET": "x",
			"GATEWAY_MEMBER_LINK": "patient-id", "GATEWAY_LOCAL_LOGIN": "false"},
			wantErr: []string{"GATEWAY_OIDC_CLIENT_ID is set but GATEWAY_OIDC_ISSUER is not", "GATEWAY_OIDC_CLIENT_SECRET is set",
				"GATEWAY_MEMBER_LINK is set", "GATEWAY_LOCAL_LOGIN=false needs GATEWAY_OIDC_ISSUER"}},
		{name: "bad link rule", env: with(map[string]string{"GATEWAY_MEMBER_LINK": "identifier:member-id"}),
			wantErr: []string{"GATEWAY_MEMBER_LINK: member link"}},
		{name: "admin console sign-in", env: with(map[string]string{"GATEWAY_ADMIN_OIDC_ROLE_CLAIM": "groups",
			"GATEWAY_ADMIN_OIDC_ADMIN_VALUES": "gw-admins, security", "GATEWAY_ADMIN_OIDC_REVIEWER_VALUES": "gw-review",
			"GATEWAY_ADMIN_OIDC_SCOPES": "openid groups"}),
			check: func(o OIDCConfig) bool {
				return o.AdminRoleClaim == "groups" && slices.Equal(o.AdminValues, []string{"gw-admins", "security"}) &&
					slices.Equal(o.ReviewerValues, []string{"gw-review"}) && slices.Equal(o.AdminScopes, []string{"openid", "groups"})
			}},
		{name: "admin console settings refused", env: with(map[string]string{"GATEWAY_ADMIN_OIDC_ADMIN_VALUES": "x",
			"GATEWAY_ADMIN_OIDC_SCOPES": "groups"}),
			wantErr: []string{"need GATEWAY_ADMIN_OIDC_ROLE_CLAIM", "GATEWAY_ADMIN_OIDC_SCOPES must include openid"}},
		{name: "a value in both roles", env: with(map[string]string{"GATEWAY_ADMIN_OIDC_ROLE_CLAIM": "groups",
			"GATEWAY_ADMIN_OIDC_ADMIN_VALUES": "staff", "GATEWAY_ADMIN_OIDC_REVIEWER_VALUES": "staff"}),
			wantErr: []string{`"staff" is both an admin and a reviewer value`}},
		{name: "admin role claim without an issuer", env: map[string]string{"GATEWAY_ADMIN_OIDC_ROLE_CLAIM": "groups"},
			wantErr: []string{"GATEWAY_ADMIN_OIDC_ROLE_CLAIM is set but GATEWAY_OIDC_ISSUER is not"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(nil, env(tc.env), io.Discard)
			if len(tc.wantErr) > 0 {
				for _, want := range tc.wantErr {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("error %v does not mention %q", err, want)
					}
				}
				return
			}
			if err != nil || !tc.check(c.OIDC) {
				t.Fatalf("ParseConfig = %+v, %v", c.OIDC, err)
			}
		})
	}
}
