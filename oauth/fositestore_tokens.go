package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// usable turns a loaded token into what fosite expects: the request, with
// ErrInactiveToken when it may no longer be used, and grantEnded (which
// fosite reads as not found, so it does not take the token for a reused
// one) when the grant's time ran out.
func usable(l loaded, err error) (fosite.Requester, error) {
	if err != nil {
		return nil, err
	}
	if !l.ended.IsZero() {
		return nil, grantEnded{at: l.ended}
	}
	if !l.active || !l.live {
		return l.req, fosite.ErrInactiveToken
	}
	return l.req, nil
}

// grantEnded is the error of a token whose grant's time ran out. It is
// fosite.ErrNotFound to fosite; the token endpoint turns it into an
// invalid_grant that says so (refreshGrant).
type grantEnded struct{ at time.Time }

func (e grantEnded) Error() string {
	return "the grant ended at " + e.at.UTC().Format(time.RFC3339)
}

// Is makes grantEnded a fosite.ErrNotFound.
func (e grantEnded) Is(target error) bool { return target == fosite.ErrNotFound }

// CreateAuthorizeCodeSession stores the request behind a new authorization code.
func (s *fositeStore) CreateAuthorizeCodeSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.create(ctx, KindCode, sig, "", r, r.GetSession().GetExpiresAt(fosite.AuthorizeCode))
}

// GetAuthorizeCodeSession returns the request of a code. A used code is a
// reuse (RFC 6749 §4.1.2): the grant and every token issued from it are
// revoked here, whichever of fosite's two reads of the code sees it, and
// the request comes back with fosite.ErrInvalidatedAuthorizeCode.
func (s *fositeStore) GetAuthorizeCodeSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	l, err := s.get(ctx, KindCode, sig, session)
	switch {
	case err != nil:
		return nil, err
	case !l.active:
		if err := s.revokeGrant(ctx, l.req.GetID()); err != nil {
			return nil, err
		}
		return l.req, fosite.ErrInvalidatedAuthorizeCode
	case !l.live:
		return nil, fosite.ErrNotFound
	}
	return l.req, nil
}

// InvalidateAuthorizeCodeSession marks a code used, atomically: of two
// concurrent exchanges only one gets past this point. In a token request
// the code is marked used by commit, together with the tokens it issues.
func (s *fositeStore) InvalidateAuthorizeCodeSession(ctx context.Context, sig string) error {
	if w := workOf(ctx); w != nil {
		w.spend(KindCode, sig, false)
		return nil
	}
	if _, err := s.tokens.DeactivateToken(ctx, KindCode, sig); err != nil {
		return fmt.Errorf("invalidate code: %w", err)
	}
	return nil
}

// CreateAccessTokenSession stores the request behind a new access token.
func (s *fositeStore) CreateAccessTokenSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.create(ctx, KindAccess, sig, "", r, r.GetSession().GetExpiresAt(fosite.AccessToken))
}

// GetAccessTokenSession returns the request of an access token that is
// still live (app approved, grant active).
func (s *fositeStore) GetAccessTokenSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	return usable(s.get(ctx, KindAccess, sig, session))
}

// DeleteAccessTokenSession removes one access token.
func (s *fositeStore) DeleteAccessTokenSession(ctx context.Context, sig string) error {
	return s.tokens.DeleteToken(ctx, KindAccess, sig)
}

// CreateRefreshTokenSession stores the request behind a new refresh token,
// remembering the access token issued with it. A refresh token carries the
// grant's whole scope even when its access token was narrowed (RFC 6749
// §6; see refreshGrant).
func (s *fositeStore) CreateRefreshTokenSession(ctx context.Context, sig, accessSig string, r fosite.Requester) error {
	proj, err := project(r)
	if err != nil {
		return fmt.Errorf("encode %s session: %w", KindRefresh, err)
	}
	if sess, ok := r.GetSession().(*Session); ok && len(sess.GrantScopes) > 0 {
		proj.GrantedScopes = sess.GrantScopes
	}
	return s.createProjected(ctx, KindRefresh, sig, accessSig, proj, r.GetSession().GetExpiresAt(fosite.RefreshToken), nil)
}

// GetRefreshTokenSession returns the request of a refresh token; a rotated
// one comes back with its request and fosite.ErrInactiveToken, which makes
// fosite revoke the whole grant (reuse detection, RFC 9700 §4.14.2).
func (s *fositeStore) GetRefreshTokenSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	return usable(s.get(ctx, KindRefresh, sig, session))
}

// DeleteRefreshTokenSession removes one refresh token.
func (s *fositeStore) DeleteRefreshTokenSession(ctx context.Context, sig string) error {
	return s.tokens.DeleteToken(ctx, KindRefresh, sig)
}

// RotateRefreshToken retires a refresh token as it is used: an atomic
// check-and-set, so of many concurrent refreshes exactly one succeeds.
// The access token issued with the old refresh token is removed too. In a
// token request this happens in commit, in the same step that stores the
// new tokens, so a failure leaves the old refresh token usable.
func (s *fositeStore) RotateRefreshToken(ctx context.Context, _ string, sig string) error {
	if w := workOf(ctx); w != nil {
		w.spend(KindRefresh, sig, true)
		return nil
	}
	rec, err := s.tokens.DeactivateToken(ctx, KindRefresh, sig)
	switch {
	case errors.Is(err, ErrInactive):
		return fosite.ErrInactiveToken
	case errors.Is(err, ErrNotFound):
		return fosite.ErrNotFound
	case err != nil:
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	if rec.AccessSignature != "" {
		if err := s.tokens.DeleteToken(ctx, KindAccess, rec.AccessSignature); err != nil {
			return fmt.Errorf("rotate refresh token: drop its access token: %w", err)
		}
	}
	return nil
}

// RevokeRefreshToken is called by fosite on revocation and on reuse of a
// code or refresh token. Revocation here is complete: it ends the grant and
// every token issued under it.
func (s *fositeStore) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.revokeGrant(ctx, requestID)
}

// RevokeAccessToken: see RevokeRefreshToken.
func (s *fositeStore) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.revokeGrant(ctx, requestID)
}

func (s *fositeStore) revokeGrant(ctx context.Context, grantID string) error {
	if err := s.apps.RevokeGrant(ctx, grantID, s.now()); err != nil && !isNotFound(err) {
		return fmt.Errorf("revoke grant: %w", err)
	}
	if err := s.tokens.RevokeRequest(ctx, grantID); err != nil {
		return fmt.Errorf("revoke tokens of grant: %w", err)
	}
	return nil
}

// CreatePKCERequestSession stores the PKCE challenge of a code.
func (s *fositeStore) CreatePKCERequestSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.create(ctx, KindPKCE, sig, "", r, r.GetSession().GetExpiresAt(fosite.AuthorizeCode))
}

// GetPKCERequestSession returns the PKCE request of a code.
func (s *fositeStore) GetPKCERequestSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	l, err := s.get(ctx, KindPKCE, sig, session)
	return l.req, err
}

// DeletePKCERequestSession removes the PKCE request of a used code; in a
// token request, in commit, so that a failed exchange can be retried.
func (s *fositeStore) DeletePKCERequestSession(ctx context.Context, sig string) error {
	if w := workOf(ctx); w != nil {
		w.remove(KindPKCE, sig)
		return nil
	}
	return s.tokens.DeleteToken(ctx, KindPKCE, sig)
}

// oidcKey is the key of a code's OpenID Connect session. fosite passes the
// authorization code itself here, not its signature; a raw code is never
// stored, so the key is its SHA-256.
func oidcKey(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// CreateOpenIDConnectSession stores the OpenID request of a code.
func (s *fositeStore) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.create(ctx, KindOIDC, oidcKey(code), "", r, r.GetSession().GetExpiresAt(fosite.AuthorizeCode))
}

// GetOpenIDConnectSession returns the OpenID request of a code.
func (s *fositeStore) GetOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) (fosite.Requester, error) {
	l, err := s.get(ctx, KindOIDC, oidcKey(code), r.GetSession())
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, openid.ErrNoSessionFound
	}
	return l.req, err
}

// DeleteOpenIDConnectSession removes the OpenID request of a used code;
// in a token request, in commit.
func (s *fositeStore) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	if w := workOf(ctx); w != nil {
		w.remove(KindOIDC, oidcKey(code))
		return nil
	}
	return s.tokens.DeleteToken(ctx, KindOIDC, oidcKey(code))
}
