package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/ory/fosite"
)

// authenticateClient is the fosite.ClientAuthenticationStrategy of every
// endpoint that authenticates clients (token, introspection, revocation).
// On top of fosite's default (client_secret_basic, client_secret_post, and
// client_id alone for public clients) it adds:
//
//   - private_key_jwt (RFC 7523), verified by assertionClient rather than
//     fosite's, which allows one algorithm per client, RS256 by default,
//     and no bound on an assertion's lifetime.
//   - A refresh request that names no client at all (no Authorization
//     header, no client_id, no client_assertion) is identified by its
//     refresh token, if that token belongs to a public client. The SMART
//     JavaScript client refreshes this way. RFC 6749 §6 requires client
//     authentication only of clients that have credentials, and a public
//     client has none: its refresh token is all it can present. A
//     confidential client must still authenticate.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	if form.Get("client_assertion_type") != "" || form.Get("client_assertion") != "" {
		return s.assertionClient(ctx, form)
	}
	if namesNoClient(r, form) && form.Get("grant_type") == "refresh_token" && form.Get("refresh_token") != "" {
		return s.refreshTokenClient(ctx, form.Get("refresh_token"))
	}
	return s.provider.DefaultClientAuthenticationStrategy(ctx, r, form)
}

// namesNoClient reports whether a request carries no client identification
// of any kind.
func namesNoClient(r *http.Request, form url.Values) bool {
	return r.Header.Get("Authorization") == "" && form.Get("client_id") == "" &&
		form.Get("client_assertion") == "" && form.Get("client_assertion_type") == ""
}

// refreshTokenClient returns the public client a refresh token was issued
// to. The token's record is read whether or not it is still active, so that
// a replayed, rotated token still reaches fosite's reuse detection (which
// ends the grant). Validating the token itself stays fosite's job.
func (s *Server) refreshTokenClient(ctx context.Context, token string) (fosite.Client, error) {
	sig := s.tokenStrategy.RefreshTokenSignature(ctx, token)
	rec, err := s.store.tokens.GetToken(ctx, KindRefresh, sig) // through the adapter: a store failure is noted (503)
	if errors.Is(err, ErrNotFound) {
		return nil, fosite.ErrInvalidGrant.WithHint("The refresh token is malformed or not valid.")
	}
	if err != nil {
		return nil, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	client, err := s.store.GetClient(ctx, rec.ClientID)
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, fosite.ErrInvalidClient.WithHint("The client of this refresh token may not use it.")
	}
	if err != nil {
		return nil, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	if !client.IsPublic() {
		return nil, fosite.ErrInvalidClient.WithHint("A confidential client must authenticate to refresh a token.")
	}
	return client, nil
}
