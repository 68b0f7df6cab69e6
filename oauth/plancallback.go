package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth/oidcrp"
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

// signInRefusal says what a member reads, and the audit trail gets, for a
// sign-in the relying party refused.
func signInRefusal(err error) refusal {
	var rerr *oidcrp.Error
	if !errors.As(err, &rerr) {
		return refusal{status: http.StatusInternalServerError, outcome: "error", reason: "sign-in failed",
			problem: ui.ProblemSignInFailed, cause: err}
	}
	ref := refusal{outcome: "denied", reason: rerr.Reason, cause: err}
	switch rerr.Kind {
	case oidcrp.KindState:
		ref.status, ref.problem = http.StatusBadRequest, ui.ProblemSignInExpired
	case oidcrp.KindCancelled:
		ref.status, ref.problem = http.StatusUnauthorized, ui.ProblemSignInCancelled
	case oidcrp.KindForeign:
		ref.status, ref.problem = http.StatusBadRequest, ui.ProblemSignInForeign
	case oidcrp.KindNonce:
		ref.status, ref.problem = http.StatusBadRequest, ui.ProblemSignInState
	default:
		ref.status, ref.outcome, ref.problem = http.StatusBadGateway, "error", ui.ProblemSignInProvider
	}
	return ref
}

// memberFromIDToken reads the member key and claim and links the member to
// their Patient.
func (s *Server) memberFromIDToken(ctx context.Context, idt *oidc.IDToken) (Member, *refusal) {
	sign := s.cfg.PlanSignIn
	cannotLink := func(reason, member string, cause error) *refusal {
		return &refusal{status: http.StatusForbidden, outcome: "denied", reason: reason, member: member, cause: cause,
			problem: ui.ProblemNoMemberRecord}
	}
	if !oidcrp.ValidSubject(idt.Subject) {
		return Member{}, cannotLink("sub missing or not printable ASCII", "", nil)
	}
	key := MemberKey(sign.Issuer, idt.Subject)
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return Member{}, cannotLink("claims unreadable", key, err)
	}
	claim, ok := oidcrp.ClaimString(claims[sign.MemberClaim])
	if !ok {
		return Member{}, cannotLink("member claim missing", key, nil)
	}
	display, _ := oidcrp.ClaimString(claims["name"]) // "" if none: the pages then name nobody
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
