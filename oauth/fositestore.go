package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"

	"github.com/patientaccess/gateway/apps"
)

// AppSource is what the authorization server needs of the app registry and
// its grants. apps.Store satisfies it.
type AppSource interface {
	GetApp(ctx context.Context, clientID string) (apps.App, error)
	GetGrant(ctx context.Context, id string) (apps.Grant, error)
	RevokeGrant(ctx context.Context, id string, at time.Time) error
}

// fositeStore adapts a TokenStore and the app registry to every storage
// interface the wired fosite handlers use. It stores a small projection of
// each request and rebuilds the client on every read, so that an app
// suspended a second ago, or a grant the member just revoked, is seen at once.
type fositeStore struct {
	tokens     TokenStore
	assertions AssertionStore
	apps       AppSource
	audience   string // the FHIR base URL every token is granted for
	now        func() time.Time
}

// The compile-time proof that the store has every method the handlers need.
var (
	_ fosite.ClientManager               = (*fositeStore)(nil)
	_ oauth2.CoreStorage                 = (*fositeStore)(nil)
	_ oauth2.TokenRevocationStorage      = (*fositeStore)(nil)
	_ pkce.PKCERequestStorage            = (*fositeStore)(nil)
	_ openid.OpenIDConnectRequestStorage = (*fositeStore)(nil)
)

// storedRequest is the projection of a fosite request kept with each token.
type storedRequest struct {
	ID                string          `json:"id"`
	RequestedAt       time.Time       `json:"requested_at"`
	ClientID          string          `json:"client_id"`
	RequestedScopes   []string        `json:"requested_scopes"`
	GrantedScopes     []string        `json:"granted_scopes"`
	RequestedAudience []string        `json:"requested_audience,omitempty"`
	GrantedAudience   []string        `json:"granted_audience,omitempty"`
	Form              url.Values      `json:"form,omitempty"`
	Session           json.RawMessage `json:"session"`

	sess fosite.Session // the session, encoded with the rest by encodeRequest
}

// GetClient returns an approved app as a fosite client. Any other app is
// "not found" to fosite: the authorize handler has already told the member
// why, and the token endpoint answers invalid_client.
func (s *fositeStore) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	app, err := s.apps.GetApp(ctx, id)
	if errors.Is(err, apps.ErrNotFound) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get client: %w", err)
	}
	if !app.Approved() {
		return nil, fosite.ErrNotFound
	}
	if w := workOf(ctx); w != nil {
		w.rememberClient(app)
	}
	return s.client(app), nil
}

func (s *fositeStore) client(app apps.App) *fosite.DefaultClient {
	return &fosite.DefaultClient{
		ID:            app.ClientID,
		Secret:        app.SecretHash,
		RedirectURIs:  app.RedirectURIs,
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		Scopes:        app.Scopes,
		Audience:      []string{s.audience},
		Public:        app.Public,
	}
}

// ClientAssertionJWTValid is part of fosite.ClientManager: it returns
// fosite.ErrJTIKnown if a client assertion with this id was already used
// and has not expired.
func (s *fositeStore) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	used, err := s.assertions.AssertionUsed(ctx, jti)
	if err != nil {
		return fmt.Errorf("check client assertion: %w", err)
	}
	if used {
		return fosite.ErrJTIKnown
	}
	return nil
}

// SetClientAssertionJWT is part of fosite.ClientManager: it records a
// client assertion id as used until exp, atomically, and returns
// fosite.ErrJTIKnown if it already was (RFC 7523 §3: each assertion is
// accepted once).
func (s *fositeStore) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	err := s.assertions.UseAssertion(ctx, jti, exp)
	if errors.Is(err, ErrUsed) {
		return fosite.ErrJTIKnown
	}
	if err != nil {
		return fmt.Errorf("record client assertion: %w", err)
	}
	return nil
}

func (s *fositeStore) create(ctx context.Context, kind TokenKind, sig, accessSig string, r fosite.Requester, exp time.Time) error {
	proj, err := project(r)
	if err != nil {
		return fmt.Errorf("encode %s session: %w", kind, err)
	}
	sess, _ := r.GetSession().(*Session)
	return s.createProjected(ctx, kind, sig, accessSig, proj, exp, sess)
}

// project is the stored projection of a request (encoded by
// encodeRequest).
func project(r fosite.Requester) (storedRequest, error) {
	return storedRequest{
		ID: r.GetID(), RequestedAt: r.GetRequestedAt(), ClientID: r.GetClient().GetID(),
		RequestedScopes: r.GetRequestedScopes(), GrantedScopes: r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(), GrantedAudience: r.GetGrantedAudience(),
		Form: r.GetRequestForm(), sess: r.GetSession(),
	}, nil
}

// createProjected stores a record of proj. An access token issued under a
// gateway Session also gets its claims (see CheckToken).
func (s *fositeStore) createProjected(ctx context.Context, kind TokenKind, sig, accessSig string, proj storedRequest, exp time.Time, sess *Session) error {
	data, err := s.encodeRequest(kind, proj)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", kind, err)
	}
	if exp.IsZero() {
		exp = s.now().Add(time.Hour)
	}
	rec := TokenRecord{RequestID: proj.ID, ClientID: proj.ClientID, Active: true,
		ExpiresAt: exp, AccessSignature: accessSig, Request: data}
	if kind == KindAccess && sess != nil {
		rec.Claims = claims{GrantID: proj.ID, ClientID: proj.ClientID, Member: sess.Member, Patient: sess.Patient,
			Scopes: proj.GrantedScopes, Sensitive: sess.Sensitive, ExpiresAt: exp, IssuedAt: proj.RequestedAt,
			FHIRAudience: len(proj.GrantedAudience) == 1 && proj.GrantedAudience[0] == s.audience}.encode()
	}
	if w := workOf(ctx); w != nil && (kind == KindAccess || kind == KindRefresh) {
		w.add(kind, sig, rec) // stored by commit, with the rest of the token request
		return nil
	}
	if err := s.tokens.CreateToken(ctx, kind, sig, rec); err != nil {
		return fmt.Errorf("store %s: %w", kind, err)
	}
	return nil
}

// loaded is a token read back: the rebuilt request, whether the record is
// still active, whether its app and grant still allow use, and when the
// grant ended if its time ran out.
type loaded struct {
	req    fosite.Requester
	active bool
	live   bool
	ended  time.Time // non-zero: the grant expired then
}

// get loads a record and rebuilds the request, with a fresh client read from
// the registry, so the caller can refuse a token whose record is inactive,
// whose app is no longer approved or whose grant was revoked.
func (s *fositeStore) get(ctx context.Context, kind TokenKind, sig string, session fosite.Session) (loaded, error) {
	rec, err := s.tokens.GetToken(ctx, kind, sig)
	if errors.Is(err, ErrNotFound) {
		return loaded{}, fosite.ErrNotFound
	}
	if err != nil {
		return loaded{}, fmt.Errorf("load %s: %w", kind, err)
	}
	proj, err := s.decodeRequest(rec, session)
	if errors.Is(err, errTombstone) && !rec.Active {
		// A used code or a rotated refresh token: enough to name its
		// request and client, so that fosite revokes the grant on reuse.
		proj, err = storedRequest{ID: rec.RequestID, ClientID: rec.ClientID}, nil
	}
	if err != nil {
		return loaded{}, fmt.Errorf("decode %s request: %w", kind, err)
	}
	app, grant, err := s.appAndGrant(ctx, proj.ClientID, proj.ID)
	if err != nil {
		return loaded{}, fmt.Errorf("load %s: %w", kind, err)
	}
	req := &fosite.Request{
		ID: proj.ID, RequestedAt: proj.RequestedAt, Client: s.client(app),
		RequestedScope: proj.RequestedScopes, GrantedScope: proj.GrantedScopes,
		RequestedAudience: proj.RequestedAudience, GrantedAudience: proj.GrantedAudience,
		Form: proj.Form, Session: session,
	}
	if req.Form == nil {
		req.Form = url.Values{}
	}
	l := loaded{req: req, active: rec.Active, live: live(app, grant)}
	if l.live && grant.Expired(s.now()) {
		l.live, l.ended = false, grant.ExpiresAt
	}
	return l, nil
}

// appAndGrant reads the token's app and grant at the same time (two store
// round trips in the time of one). A missing app or grant comes back as the
// zero value, which live refuses. In a token request the app its client
// authentication just read is used again rather than read a second time
// (a refresh: one Redis round trip and one decoding fewer; a code
// exchange, which reads the code, its PKCE and OpenID sessions, three).
func (s *fositeStore) appAndGrant(ctx context.Context, clientID, grantID string) (apps.App, apps.Grant, error) {
	if w := workOf(ctx); w != nil {
		if app, ok := w.clientApp(clientID); ok {
			grant, err := s.apps.GetGrant(ctx, grantID)
			if err != nil && !errors.Is(err, apps.ErrNotFound) {
				return apps.App{}, apps.Grant{}, err
			}
			return app, grant, nil
		}
	}
	var (
		grant    apps.Grant
		grantErr error
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		grant, grantErr = s.apps.GetGrant(ctx, grantID)
	}()
	app, appErr := s.apps.GetApp(ctx, clientID)
	<-done
	for _, err := range []error{appErr, grantErr} {
		if err != nil && !errors.Is(err, apps.ErrNotFound) {
			return apps.App{}, apps.Grant{}, err
		}
	}
	return app, grant, nil
}

// live reports whether tokens of this app and grant may still be used: the
// app is approved, the grant exists and is not revoked, and it was made
// after the app's last suspension or denial.
func live(app apps.App, g apps.Grant) bool {
	return app.Approved() && g.ID != "" && g.Active() && !g.CreatedAt.Before(app.TokensValidAfter)
}

func isNotFound(err error) bool {
	return errors.Is(err, apps.ErrNotFound) || errors.Is(err, ErrNotFound) || errors.Is(err, fosite.ErrNotFound)
}
