package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// MemberLink ties a member who signs in through the plan's OpenID provider
// to their FHIR Patient. It is kept in the store and trusted until it is
// older than PlanSignIn.LinkMaxAge, or until the member claim or the link
// rule it was found by changes; then it is looked up again.
type MemberLink struct {
	Member      string    `json:"member"`       // the stable member key (MemberKey), also in sessions, grants and audit
	Subject     string    `json:"subject"`      // the provider's sub
	Rule        string    `json:"rule"`         // the LinkRule it was found by, as configured
	Claim       string    `json:"claim"`        // the member claim's value it was found by
	PatientID   string    `json:"patient_id"`   // the one Patient that matched
	DisplayName string    `json:"display_name"` // shown to the member only, never audited
	CheckedAt   time.Time `json:"checked_at"`   // when the FHIR source last confirmed it
}

// LinkStore keeps member links. Links do not expire in the store; their
// age is judged by the Server's clock.
type LinkStore interface {
	// PutMemberLink creates or replaces the link of l.Member.
	PutMemberLink(ctx context.Context, l MemberLink) error
	// GetMemberLink returns the member's link, or ErrNotFound.
	GetMemberLink(ctx context.Context, member string) (MemberLink, error)
	// DeleteMemberLink removes the member's link; a missing one is not an error.
	DeleteMemberLink(ctx context.Context, member string) error
}

// PatientDirectory is how the server finds a member's Patient on the FHIR
// source. The gateway adapts its FHIR source to it.
type PatientDirectory interface {
	// FindPatients returns the ids of every Patient with an identifier of
	// that system and value (FHIR search Patient?identifier=system|value).
	// value is the raw claim: an implementation that builds a FHIR query
	// escapes it (FHIR R4 search.html §3.1.1.6: \ | , $).
	FindPatients(ctx context.Context, system, value string) ([]string, error)
	// PatientExists reports whether the Patient with that id exists.
	PatientExists(ctx context.Context, id string) (bool, error)
}

// LinkRule says how the member claim names the member's Patient.
type LinkRule struct {
	// System is empty when the claim is the Patient id itself; otherwise
	// the claim is an identifier of this system, looked up as
	// Patient?identifier=System|claim.
	System string
}

// ParseLinkRule reads GATEWAY_MEMBER_LINK: "patient-id", or
// "identifier:SYSTEM" with SYSTEM an absolute URI (urn: or http(s):).
func ParseLinkRule(s string) (LinkRule, error) {
	if s == "patient-id" {
		return LinkRule{}, nil
	}
	system, ok := strings.CutPrefix(s, "identifier:")
	if !ok {
		return LinkRule{}, fmt.Errorf("member link %q: want patient-id or identifier:SYSTEM", s)
	}
	u, err := url.Parse(system)
	if err != nil || u.Scheme == "" || strings.ContainsAny(system, "|, \t\n") {
		return LinkRule{}, fmt.Errorf("member link %q: SYSTEM must be an absolute URI without | , or spaces", s)
	}
	return LinkRule{System: system}, nil
}

// String is the rule as configured.
func (r LinkRule) String() string {
	if r.System == "" {
		return "patient-id"
	}
	return "identifier:" + r.System
}

// MemberKey is the stable key of a member signed in through the provider
// with that issuer and subject: "oidc:" + 8 hex digits of the issuer's
// SHA-256 + ":" + sub. It names the member in sessions, grants, tokens and
// audit events; it carries the provider's subject, never a name, and the
// issuer part keeps two providers' equal subjects apart.
func MemberKey(issuer, subject string) string {
	sum := sha256.Sum256([]byte(issuer))
	return "oidc:" + hex.EncodeToString(sum[:4]) + ":" + subject
}

// linkOutcome is the result of looking a member's Patient up.
type linkOutcome int

const (
	linkFound   linkOutcome = iota // exactly one Patient
	linkNone                       // no Patient matches the claim
	linkSeveral                    // more than one does
)

// auditReason is the outcome in the words of the audit trail.
func (o linkOutcome) auditReason() string {
	switch o {
	case linkNone:
		return "no patient matches the member claim"
	case linkSeveral:
		return "several patients match the member claim"
	}
	return "linked"
}

var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// lookupPatient asks the directory for the Patient the claim names. It
// never guesses: exactly one match is a link, anything else is not.
func (s *Server) lookupPatient(ctx context.Context, claim string) (string, linkOutcome, error) {
	rule := s.cfg.PlanSignIn.Link
	if rule.System == "" {
		if !fhirID.MatchString(claim) {
			return "", linkNone, nil
		}
		ok, err := s.deps.Patients.PatientExists(ctx, claim)
		if err != nil || !ok {
			return "", linkNone, err
		}
		return claim, linkFound, nil
	}
	ids, err := s.deps.Patients.FindPatients(ctx, rule.System, claim)
	switch {
	case err != nil:
		return "", linkNone, err
	case len(ids) == 0:
		return "", linkNone, nil
	case len(ids) > 1:
		return "", linkSeveral, nil
	}
	return ids[0], linkFound, nil
}

// linkMember returns the member's Patient link: the stored one while it is
// fresh and was found by the same claim and rule, otherwise a new lookup,
// which replaces the stored link (or removes it when nothing, or more than
// one Patient, matches).
func (s *Server) linkMember(ctx context.Context, l MemberLink) (MemberLink, linkOutcome, error) {
	stored, err := s.deps.Storage.GetMemberLink(ctx, l.Member)
	switch {
	case err == nil && s.linkFresh(stored) && stored.Claim == l.Claim && stored.Rule == l.Rule:
		if stored.DisplayName != l.DisplayName {
			stored.DisplayName = l.DisplayName
			if err := s.deps.Storage.PutMemberLink(ctx, stored); err != nil {
				return MemberLink{}, linkNone, fmt.Errorf("store member link: %w", err)
			}
		}
		return stored, linkFound, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return MemberLink{}, linkNone, fmt.Errorf("load member link: %w", err)
	}
	patient, outcome, err := s.lookupPatient(ctx, l.Claim)
	if err != nil {
		return MemberLink{}, linkNone, fmt.Errorf("look up patient: %w", err)
	}
	if outcome != linkFound {
		if err := s.deps.Storage.DeleteMemberLink(ctx, l.Member); err != nil {
			return MemberLink{}, linkNone, fmt.Errorf("remove member link: %w", err)
		}
		return MemberLink{}, outcome, nil
	}
	l.PatientID, l.CheckedAt = patient, s.now()
	if err := s.deps.Storage.PutMemberLink(ctx, l); err != nil {
		return MemberLink{}, linkNone, fmt.Errorf("store member link: %w", err)
	}
	return l, linkFound, nil
}

// linkFresh reports whether a stored link may be used without asking the
// FHIR source again.
func (s *Server) linkFresh(l MemberLink) bool {
	age := s.now().Sub(l.CheckedAt)
	return age >= 0 && age < s.cfg.PlanSignIn.LinkMaxAge
}

// linkedMember returns the member a session names when that member signed
// in through the provider and their link is still fresh. An aged link
// signs the member out: the next sign-in checks it again.
func (s *Server) linkedMember(ctx context.Context, key string) (Member, bool, error) {
	sign := s.cfg.PlanSignIn
	if sign == nil || !strings.HasPrefix(key, MemberKey(sign.Issuer, "")) {
		return Member{}, false, nil
	}
	l, err := s.deps.Storage.GetMemberLink(ctx, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Member{}, false, fmt.Errorf("load member link: %w", err)
	}
	if err != nil || !s.linkFresh(l) || l.Rule != sign.Link.String() || l.PatientID == "" {
		return Member{}, false, nil
	}
	return Member{Username: l.Member, DisplayName: l.DisplayName, PatientID: l.PatientID}, true, nil
}

// sessionMember returns the member a login session names: a local account
// (while local login is on), or a member linked through the provider. A
// store failure is an error, not "nobody".
func (s *Server) sessionMember(ctx context.Context, key string) (Member, bool, error) {
	if !s.cfg.LocalLoginDisabled {
		m, err := s.deps.Storage.GetMember(ctx, key)
		if err == nil {
			return m, true, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Member{}, false, fmt.Errorf("load member: %w", err)
		}
	}
	return s.linkedMember(ctx, key)
}
