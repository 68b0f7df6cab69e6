package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ory/fosite"

	"github.com/patientaccess/gateway/apps"
)

// serveToken is the token endpoint (RFC 6749 §3.2): authorization_code and
// refresh_token grants. The response adds SMART's `patient` launch context
// and says "Bearer" as SMART's examples do.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	ctx := beginWork(r.Context())
	session := NewSession()
	ar, err := fosite.AccessRequester(nil), checkTokenForm(r)
	if err == nil && s.clientThrottled(ctx, w, r) {
		return
	}
	if err == nil {
		ar, err = s.provider.NewAccessRequest(ctx, r, session)
		s.noteClientAuth(ctx, r, err)
	}
	if err != nil {
		s.tokenRefused(ctx, w, ar, clientIDOf(r), "token request refused", err)
		return
	}
	resp, err := s.provider.NewAccessResponse(ctx, ar)
	if err == nil {
		err = s.store.commit(ctx) // the request's one write; nothing is stored before it
	}
	if err != nil {
		s.tokenRefused(ctx, w, ar, ar.GetClient().GetID(), "token response refused", err)
		return
	}
	sess, _ := ar.GetSession().(*Session)
	if sess != nil && sess.Patient != "" {
		resp.SetExtra("patient", sess.Patient)
	}
	resp.SetTokenType("Bearer")
	s.audit(ctx, apps.Event{Action: "token", Outcome: "success", ClientID: ar.GetClient().GetID(),
		Member: memberOf(sess), Patient: patientOf(sess), Reason: strings.Join(ar.GetGrantTypes(), " ")})
	s.provider.WriteAccessResponse(ctx, w, ar, resp)
}

// tokenRefused answers and audits a token request that did not succeed:
// as a failure when the store failed (storeFailed), else as fosite
// refused it.
func (s *Server) tokenRefused(ctx context.Context, w http.ResponseWriter, ar fosite.AccessRequester, clientID, what string, err error) {
	if s.storeFailed(ctx, w, what, err) {
		s.audit(ctx, apps.Event{Action: "token", Outcome: "error", ClientID: clientID, Reason: "store failed"})
		return
	}
	err = tokenError(err)
	s.audit(ctx, apps.Event{Action: "token", Outcome: "denied", ClientID: clientID, Reason: fosite.ErrorToRFC6749Error(err).ErrorField})
	s.logOAuthError(ctx, what, err)
	challengeClient(w, err)
	s.provider.WriteAccessError(ctx, w, ar, err)
}

// serveRevoke is RFC 7009 revocation. Revoking either token of a grant ends
// the whole grant.
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	err := checkForm(r)
	if err == nil && s.clientThrottled(ctx, w, r) {
		return
	}
	if err == nil {
		err = s.provider.NewRevocationRequest(ctx, r)
		if err != nil && s.storeFailed(ctx, w, "revocation", err) {
			return
		}
		s.noteClientAuth(ctx, r, err)
	}
	if err != nil {
		s.logOAuthError(ctx, "revocation refused", err)
		challengeClient(w, err)
	} else {
		s.audit(ctx, apps.Event{Action: "token.revoke", Outcome: "success", ClientID: clientIDOf(r)})
	}
	s.provider.WriteRevocationResponse(ctx, w, err)
}

// TokenInfo is what a valid access token allows.
type TokenInfo struct {
	ClientID string
	Member   string
	Patient  string
	Scopes   []string
	GrantID  string
	// Sensitive: the member chose to share records the plan labels
	// sensitive (the FHIR API withholds them otherwise).
	Sensitive bool
}

// ErrInvalidToken means a bearer token is unknown, expired or revoked, or
// its app or grant no longer allows use.
var ErrInvalidToken = errors.New("oauth: invalid token")

// CheckToken validates an access token for the FHIR API. It reads the store
// every time (no cache of whether a token is live), so a revocation on any
// replica is seen at once. A token it could not check because the store
// failed is not called invalid: the error wraps the failure (ErrUnavailable
// when the store could not be reached).
//
// It is fosite's introspection of an access token, done directly: the
// token's HMAC is checked first (no store call for a forged token), then one
// store step reads the record, its app and its grant (CheckAccess), and the
// token's claims are decoded from their compact form. They are kept in a
// small cache keyed by the whole token (so only the token's holder hits
// it), which spares the next check the HMAC and the store's lookup of the
// token's request. A record stored before records had claims is
// read from its request projection.
func (s *Server) CheckToken(ctx context.Context, token string) (TokenInfo, error) {
	c, _, err := s.checkLive(ctx, token, nil)
	if err != nil {
		return TokenInfo{}, err
	}
	return c.info(), nil
}

// checkLive checks token as CheckToken describes and, when events is not
// nil, appends them in the same store step (CheckAccessAppend). It
// returns the token's claims and the refs of what was appended, with any
// error, so that the caller can withdraw them.
func (s *Server) checkLive(ctx context.Context, token string, events []apps.Event) (claims, EventRefs, error) {
	if events == nil {
		c, _, err := s.checkLiveAccess(ctx, token, nil)
		return c, nil, err
	}
	step := &checkStep{events: events}
	c, _, err := s.checkLiveAccess(ctx, token, step)
	return c, step.refs, err
}

// checkStep is what a token check does in its store step besides the
// check, and what came of it: events appended (CheckAccessAppend), or a
// gate judged (CheckAccessGated).
type checkStep struct {
	events []apps.Event
	gate   *Gate
	refs   EventRefs // the events appended
	gated  Gated     // the gate's judgement
}

// checkLiveAccess is checkLive that also returns what the store step read
// (the token's record, app and grant), and does step's work in that step
// (nil: none).
func (s *Server) checkLiveAccess(ctx context.Context, token string, step *checkStep) (claims, AccessCheck, error) {
	if token == "" {
		return claims{}, AccessCheck{}, ErrInvalidToken
	}
	c, cached := s.claims.get(token)
	if !cached {
		if err := s.tokenStrategy.Enigma.Validate(ctx, strings.TrimPrefix(token, accessTokenPrefix)); err != nil {
			return claims{}, AccessCheck{}, ErrInvalidToken
		}
	}
	sig := c.Signature
	if !cached || sig == "" {
		sig = s.tokenStrategy.AccessTokenSignature(ctx, token)
	}
	q := AccessQuery{Signature: sig}
	if cached {
		q.RequestID, q.ClientID, q.KnownClaims = c.GrantID, c.ClientID, true
	}
	var (
		ac  AccessCheck
		err error
	)
	switch {
	case step == nil:
		ac, err = s.deps.Storage.CheckAccess(ctx, q)
	case step.gate != nil:
		ac, step.gated, err = s.deps.Storage.CheckAccessGated(ctx, q, *step.gate)
	default:
		ac, step.refs, err = s.deps.Storage.CheckAccessAppend(ctx, q, step.events)
	}
	if isNotFound(err) {
		s.claims.drop(token)
		return claims{}, ac, ErrInvalidToken
	}
	if err != nil {
		return claims{}, ac, fmt.Errorf("check token: %w", err)
	}
	if !cached {
		if c, err = claimsOf(ac.Record); err != nil {
			s.deps.Logger.ErrorContext(ctx, "check token: unreadable record, token refused", "err", err)
			return claims{}, ac, ErrInvalidToken
		}
		c.Subject = pairwiseSubject(s.subjectKey, c.ClientID, c.Member)
		c.Signature = sig
		s.claims.put(token, c)
	}
	now := s.now()
	if !ac.Record.Active || !now.Before(c.ExpiresAt) || c.Patient == "" || c.ClientID != ac.App.ClientID ||
		!live(ac.App, ac.Grant) || ac.Grant.Expired(now) {
		return c, ac, ErrInvalidToken
	}
	return c, ac, nil
}

// info is what the claims allow, for the FHIR API.
func (c claims) info() TokenInfo {
	return TokenInfo{ClientID: c.ClientID, Member: c.Member, Patient: c.Patient,
		Scopes: slices.Clone(c.Scopes), GrantID: c.GrantID, Sensitive: c.Sensitive}
}

// PeekToken returns what token allows from the claims a CheckToken kept
// for it, without asking the store whether it is still live: false when
// none are kept (the token was not checked on this replica, or was
// forgotten) or they say it has expired. A caller that peeks must confirm
// the token (ConfirmToken) before it discloses anything; until then it
// may only look at data that stays in the process.
func (s *Server) PeekToken(token string) (TokenInfo, bool) {
	c, ok := s.claims.get(token)
	if !ok || c.Patient == "" || !s.now().Before(c.ExpiresAt) {
		return TokenInfo{}, false
	}
	return c.info(), true
}

// ConfirmToken records e in the one store step that checks that token is
// still live, as CheckToken checks it (TokenStore.CheckAccessAppend): nil
// when it is, and e is then in the audit trail. When it is not, e is
// withdrawn and the error is ErrInvalidToken; if the withdrawal fails the
// error wraps that failure instead, since e would otherwise stand for a
// call that was refused. When the store fails, whatever was appended is
// withdrawn if possible and the error wraps the failure (ErrUnavailable
// when the store could not be reached).
func (s *Server) ConfirmToken(ctx context.Context, token string, e apps.Event) error {
	_, refs, err := s.checkLive(ctx, token, []apps.Event{e})
	if err == nil {
		return nil
	}
	if len(refs) > 0 {
		if werr := s.deps.Storage.WithdrawEvents(ctx, refs); werr != nil {
			s.deps.Logger.ErrorContext(ctx, "confirm token: the refused call's audit event could not be withdrawn",
				"action", e.Action, "err", werr)
			if errors.Is(err, ErrInvalidToken) {
				return fmt.Errorf("confirm token: withdraw the refused call's event: %w", werr)
			}
		}
	}
	return err
}

// accessTokenPrefix starts every access token fosite's HMAC strategy
// issues; the HMAC covers what follows it.
const accessTokenPrefix = "ory_at_"

// claimsOf returns a record's claims: its compact ones, or, for a record
// stored without them (or by a newer gateway in a version this one does not
// know), the same facts from its request projection.
func claimsOf(rec TokenRecord) (claims, error) {
	c, err := decodeClaims(rec.Claims)
	if err == nil {
		return c, nil
	}
	if len(rec.Claims) > 0 && !errors.Is(err, errClaimsVersion) {
		return claims{}, err
	}
	sess := NewSession()
	// The audience is not needed here: none of the facts below depend on it.
	proj, err := (&fositeStore{}).decodeRequest(rec, sess)
	if err != nil {
		return claims{}, fmt.Errorf("decode access request: %w", err)
	}
	exp := sess.GetExpiresAt(fosite.AccessToken)
	if exp.IsZero() || rec.ExpiresAt.Before(exp) {
		exp = rec.ExpiresAt
	}
	return claims{GrantID: proj.ID, ClientID: proj.ClientID, Member: sess.Member, Patient: sess.Patient,
		Scopes: proj.GrantedScopes, Sensitive: sess.Sensitive, ExpiresAt: exp}, nil
}

func (s *Server) audit(ctx context.Context, e apps.Event) {
	if s.deps.Audit == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if err := s.deps.Audit.Record(ctx, e); err != nil {
		s.deps.Logger.ErrorContext(ctx, "audit event not recorded", "action", e.Action, "err", err)
	}
}

// logOAuthError logs why fosite refused a request: the safe error name and
// the internal cause for server errors. Never the request's form.
func (s *Server) logOAuthError(ctx context.Context, msg string, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		s.deps.Logger.ErrorContext(ctx, msg, "error", rfc.ErrorField, "cause", rfc.DebugField)
		return
	}
	s.deps.Logger.InfoContext(ctx, msg, "error", rfc.ErrorField, "hint", rfc.HintField)
}

func clientIDOf(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		if unescaped, err := url.QueryUnescape(id); err == nil {
			return unescaped // RFC 6749 §2.3.1 form-encodes Basic credentials
		}
		return id
	}
	if id := r.PostFormValue("client_id"); id != "" {
		return id
	}
	return assertionSubject(r.PostFormValue("client_assertion"))
}

func memberOf(s *Session) string {
	if s == nil {
		return ""
	}
	return s.Member
}

func patientOf(s *Session) string {
	if s == nil {
		return ""
	}
	return s.Patient
}
