package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/patientaccess/gateway/oauth/smart"
)

// refreshGrant is fosite's refresh_token grant plus the `scope` parameter,
// which fosite v0.49 ignores (it always grants the original scope).
//
// RFC 6749 §6 and SMART App Launch 2 §7.1: a refresh request may name a
// scope; it must not include anything the grant does not cover (else
// invalid_scope, and the refresh token is not spent), and the new access
// token gets exactly what was asked. "Covers" is SMART's: a grant of
// patient/*.rs covers a request for patient/Patient.r. The new refresh
// token keeps the grant's whole scope ("the refresh token scope MUST be
// identical to that of the refresh token included by the client"), so a
// later refresh may widen back to it; the session's GrantScopes carries
// that scope to the store (fositeStore.CreateRefreshTokenSession).
type refreshGrant struct {
	*oauth2.RefreshTokenGrantHandler
}

// HandleTokenEndpointRequest validates the refresh as fosite does, then
// narrows the granted scope to the one asked for. A refresh token whose
// grant's time ran out is refused with invalid_grant saying so: the app
// must send the member through authorization again, for fresh consent.
func (g refreshGrant) HandleTokenEndpointRequest(ctx context.Context, req fosite.AccessRequester) error {
	if err := g.RefreshTokenGrantHandler.HandleTokenEndpointRequest(ctx, req); err != nil {
		var ended grantEnded
		if errors.As(err, &ended) {
			return fosite.ErrInvalidGrant.WithWrap(err).WithHintf("The member's authorization for this app ended at %s. "+
				"Send the member through authorization again: a new grant needs their consent.", ended.at.UTC().Format(time.RFC3339))
		}
		return err
	}
	asked := dedupe(strings.Fields(req.GetRequestForm().Get("scope")))
	if len(asked) == 0 {
		return nil
	}
	grant := slices.Clone(req.GetGrantedScopes())
	for _, sc := range asked {
		if !slices.Contains(grant, sc) && !smart.Strategy(grant, sc) {
			return fosite.ErrInvalidScope.WithHintf("The scope '%s' is not part of this grant; a refresh may only ask for the same scope or less.", sc)
		}
	}
	ar, ok := req.(*fosite.AccessRequest)
	sess, sok := req.GetSession().(*Session)
	if !ok || !sok {
		return fosite.ErrServerError.WithWrap(errors.New("refresh: unexpected request or session type"))
	}
	if len(sess.GrantScopes) == 0 {
		sess.GrantScopes = grant
	}
	ar.GrantedScope = fosite.Arguments(asked)
	return nil
}

// dedupe returns list without repeats, in first-seen order.
func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
