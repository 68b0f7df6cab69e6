package oauth

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
)

// refusal is a sign-in the gateway will not complete: what the member
// reads, and what the audit trail and the log get.
type refusal struct {
	status  int
	outcome string     // audit outcome: "denied" or "error"
	reason  string     // audit reason: fixed words, never a claim value or a name
	member  string     // the member key, once the id_token was verified
	problem ui.Problem // what the member reads
	cause   error      // for the log only
}

// finishSignIn checks the provider's answer and links the member to their
// Patient. Every failure is a refusal: nothing is guessed.
func (s *Server) finishSignIn(ctx context.Context, r *http.Request, st signInState) (Member, *refusal) {
	sign := s.cfg.PlanSignIn
	q := r.URL.Query()
	if code := q.Get("error"); code != "" {
		return Member{}, &refusal{status: http.StatusUnauthorized, outcome: "denied", reason: "provider answered " + errorCode(code),
			problem: ui.ProblemSignInCancelled}
	}
	// RFC 9207: a provider that names itself must name the one we asked.
	if iss := q.Get("iss"); iss != "" && iss != sign.Issuer {
		return Member{}, &refusal{status: http.StatusBadRequest, outcome: "denied", reason: "iss does not match the provider",
			problem: ui.ProblemSignInForeign}
	}
	idt, ref := s.exchange(ctx, q.Get("code"), st)
	if ref != nil {
		return Member{}, ref
	}
	return s.memberFromIDToken(ctx, idt)
}

// exchange redeems the code (with the PKCE verifier) at the provider and
// verifies the id_token against the provider's JWKS: signature, iss, aud
// (and azp when there are several audiences), exp, and our nonce.
func (s *Server) exchange(ctx context.Context, code string, st signInState) (*oidc.IDToken, *refusal) {
	sign := s.cfg.PlanSignIn
	unreachable := func(reason string, err error) *refusal {
		return &refusal{status: http.StatusBadGateway, outcome: "error", reason: reason, cause: err,
			problem: ui.ProblemSignInProvider}
	}
	p, err := s.plan.get(ctx)
	if err != nil {
		return nil, unreachable("provider unreachable", err)
	}
	tctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, s.plan.client), providerTimeout)
	defer cancel()
	tok, err := s.oauth2Config(p).Exchange(tctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, unreachable("provider refused the code", err)
		}
		return nil, unreachable("provider unreachable", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, unreachable("no id_token", nil)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: sign.ClientID, Now: s.now}).Verify(ctx, raw)
	if err != nil {
		return nil, unreachable("id_token invalid", err)
	}
	if !hmac.Equal([]byte(idt.Nonce), []byte(st.Nonce)) {
		return nil, &refusal{status: http.StatusBadRequest, outcome: "denied", reason: "nonce mismatch",
			problem: ui.ProblemSignInState}
	}
	var azp struct {
		AZP string `json:"azp"`
	}
	if len(idt.Audience) > 1 && (idt.Claims(&azp) != nil || azp.AZP != sign.ClientID) {
		return nil, unreachable("id_token azp is not this client", nil)
	}
	return idt, nil
}

// memberFromIDToken reads the member key and claim and links the member to
// their Patient.
func (s *Server) memberFromIDToken(ctx context.Context, idt *oidc.IDToken) (Member, *refusal) {
	sign := s.cfg.PlanSignIn
	cannotLink := func(reason, member string, cause error) *refusal {
		return &refusal{status: http.StatusForbidden, outcome: "denied", reason: reason, member: member, cause: cause,
			problem: ui.ProblemNoMemberRecord}
	}
	if !validSubject(idt.Subject) {
		return Member{}, cannotLink("sub missing or not printable ASCII", "", nil)
	}
	key := MemberKey(sign.Issuer, idt.Subject)
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return Member{}, cannotLink("claims unreadable", key, err)
	}
	claim, ok := claimString(claims[sign.MemberClaim])
	if !ok {
		return Member{}, cannotLink("member claim missing", key, nil)
	}
	display, _ := claimString(claims["name"]) // "" if none: the pages then name nobody
	l, outcome, err := s.linkMember(ctx, MemberLink{Member: key, Subject: idt.Subject, Rule: sign.Link.String(),
		Claim: claim, DisplayName: display})
	switch {
	case err != nil:
		return Member{}, &refusal{status: http.StatusServiceUnavailable, outcome: "error", reason: "patient lookup failed", member: key,
			cause: err, problem: ui.ProblemMemberRecordFailed}
	case outcome != linkFound:
		return Member{}, cannotLink(outcome.auditReason(), key, nil)
	}
	return Member{Username: l.Member, DisplayName: l.DisplayName, PatientID: l.PatientID}, nil
}

// claimString reads a claim that is a non-empty string, or a number (some
// providers send member numbers as JSON numbers), as its literal text.
func claimString(raw json.RawMessage) (string, bool) {
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if len(raw) == 0 || d.Decode(&v) != nil {
		return "", false
	}
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = x.String()
	}
	if s == "" || len(s) > 256 || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", false
	}
	return s, true
}

// validSubject accepts what OpenID Connect Core §2 allows a sub to be: at
// most 255 ASCII characters; printable ones only, since it reaches the
// audit trail.
func validSubject(sub string) bool {
	return sub != "" && len(sub) <= 255 && strings.IndexFunc(sub, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) < 0
}

var errorCodeRE = regexp.MustCompile(`^[a-z_]{1,40}$`)

// errorCode keeps an OAuth error code fit for the audit trail.
func errorCode(code string) string {
	if errorCodeRE.MatchString(code) {
		return code
	}
	return "an unrecognised error"
}

func auditSignIn(outcome, member, patient, reason string) apps.Event {
	return apps.Event{Action: "member.signin", Outcome: outcome, Member: member, Patient: patient, Reason: reason}
}

// refuseSignIn logs and audits a refused sign-in and shows the member why,
// with the way back to the sign-in page and the plan's help contact.
func (s *Server) refuseSignIn(w http.ResponseWriter, r *http.Request, ref refusal) {
	ctx := r.Context()
	s.deps.Logger.WarnContext(ctx, "member sign-in refused", "reason", ref.reason, "err", ref.cause)
	s.audit(ctx, auditSignIn(ref.outcome, ref.member, "", ref.reason))
	if ref.status == http.StatusServiceUnavailable {
		setRetryAfter(w)
	}
	s.deps.UI.Error(w, r, ui.ErrorView{Problem: ref.problem, Status: ref.status, SignIn: true})
}
