package oauth

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ory/fosite"

	"github.com/patientaccess/gateway/apps"
)

// tokenWork is what one token request writes, collected while fosite
// builds the response and written by commit in one atomic step
// (TokenStore.UseToken) once the whole response is ready. fosite writes a
// token request's changes one call at a time: the code is marked used or
// the old refresh token retired first, the new tokens stored after, the
// PKCE and OpenID sessions deleted in between, and the id_token built
// last. A failure between two of those calls used to leave the grant half
// changed, so that the client's retry looked like a reuse and ended the
// grant. Now a failed request has changed nothing, and its retry works.
type tokenWork struct {
	mu         sync.Mutex
	use        *TokenRef
	dropAccess bool
	drop       []TokenRef
	issue      []IssuedToken
	// client is the app the request's client authentication read (an
	// approved one), so that rebuilding the requests of the code or
	// refresh token it presents does not read it again.
	client *apps.App
}

// rememberClient keeps the app client authentication read.
func (w *tokenWork) rememberClient(app apps.App) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.client = &app
}

// clientApp returns the app client authentication read, if it is clientID.
func (w *tokenWork) clientApp(clientID string) (apps.App, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.client == nil || w.client.ClientID != clientID {
		return apps.App{}, false
	}
	return *w.client, true
}

type workKey struct{}

// beginWork returns a context in which the fosite adapter collects a
// token request's writes instead of making them.
func beginWork(ctx context.Context) context.Context {
	return context.WithValue(ctx, workKey{}, &tokenWork{})
}

// workOf returns the token request's collected writes, or nil outside one.
func workOf(ctx context.Context) *tokenWork {
	w, _ := ctx.Value(workKey{}).(*tokenWork)
	return w
}

// spend records the code or refresh token the request uses up.
func (w *tokenWork) spend(kind TokenKind, sig string, dropAccess bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.use, w.dropAccess = &TokenRef{Kind: kind, Signature: sig}, dropAccess
}

// remove records a record of the request to delete with the rest.
func (w *tokenWork) remove(kind TokenKind, sig string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drop = append(w.drop, TokenRef{Kind: kind, Signature: sig})
}

// add records a token to store with the rest.
func (w *tokenWork) add(kind TokenKind, sig string, rec TokenRecord) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.issue = append(w.issue, IssuedToken{TokenRef: TokenRef{Kind: kind, Signature: sig}, Record: rec})
}

// commit writes the request's collected changes in one step. A code that a
// concurrent exchange used first is a reuse like any other: the grant and
// every token issued under it are revoked (RFC 6749 §4.1.2), and the
// request is refused invalid_grant. A refresh token a concurrent request
// rotated first is refused invalid_grant too, and the grant kept, as
// fosite does for that race.
func (s *fositeStore) commit(ctx context.Context) error {
	w := workOf(ctx)
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.use == nil {
		if len(w.issue) > 0 {
			return errors.New("store tokens: tokens issued without a code or refresh token used")
		}
		return nil
	}
	u := TokenUse{TokenRef: *w.use, DropAccess: w.dropAccess, Drop: w.drop, Issue: w.issue}
	rec, err := s.tokens.UseToken(ctx, u)
	switch {
	case errors.Is(err, ErrInactive) && u.Kind == KindCode:
		if err := s.revokeGrant(ctx, rec.RequestID); err != nil {
			return err
		}
		return fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.")
	case errors.Is(err, ErrInactive):
		return fosite.ErrInvalidGrant.WithHint("The refresh token was used by a concurrent request.")
	case errors.Is(err, ErrNotFound):
		return fosite.ErrInvalidGrant.WithHint("The authorization grant is no longer valid.")
	case err != nil:
		return fmt.Errorf("store tokens: %w", err)
	}
	return nil
}

// tokenError corrects what fosite answers when the code was used, or its
// grant revoked, by a concurrent exchange while this one was being built:
// fosite reads the code a second time then and calls any error a server
// error, but the code is spent (the adapter has revoked the grant), so
// the answer is invalid_grant.
func tokenError(err error) error {
	if errors.Is(err, fosite.ErrServerError) &&
		(errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) || errors.Is(err, fosite.ErrNotFound)) {
		return fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.")
	}
	return err
}
