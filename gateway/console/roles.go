package console

import (
	"encoding/json"
	"slices"
	"strings"
)

// RoleMapping gives people who sign in through the provider their console
// role from one id_token claim: a string or an array of strings (a groups
// claim). A person whose claim names an admin value is an admin; otherwise
// one whose claim names a reviewer value is a reviewer; anyone else is
// refused.
type RoleMapping struct {
	// Claim is the id_token claim read ("groups", "roles").
	Claim string
	// Admin and Reviewer are the claim values that give each role.
	Admin, Reviewer []string
}

// DefaultAdminValue and DefaultReviewerValue are the claim values that give
// each role when none are configured.
const (
	DefaultAdminValue    = "gateway-admin"
	DefaultReviewerValue = "gateway-reviewer"
)

// role reads the person's role from the id_token's claims.
func (m RoleMapping) role(claims map[string]json.RawMessage) (Role, bool) {
	values := claimValues(claims[m.Claim])
	has := func(want []string) bool {
		return slices.ContainsFunc(values, func(v string) bool { return slices.Contains(want, v) })
	}
	switch {
	case has(m.Admin):
		return RoleAdmin, true
	case has(m.Reviewer):
		return RoleReviewer, true
	}
	return "", false
}

// claimValues reads a claim that is a string or an array of strings,
// exactly as sent (an authorization decision trims nothing); a value that
// is anything else, or holds a control character, counts for nothing.
func claimValues(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return exact([]string{one})
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out []string
	for _, item := range list {
		if json.Unmarshal(item, &one) == nil {
			out = append(out, one)
		}
	}
	return exact(out)
}

// exact keeps the values fit to compare: non-empty, at most 256 bytes,
// no control characters.
func exact(values []string) []string {
	return slices.DeleteFunc(values, func(v string) bool {
		return v == "" || len(v) > 256 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f })
	})
}
