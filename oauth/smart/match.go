package smart

import (
	"net/url"
	"slices"
)

// Permits reports whether s permits interaction i (every bit of it) on
// resourceType in context c. A restricted scope (see Restricted) permits
// nothing here; ask PermitsQuery instead.
func (s Scope) Permits(c Context, resourceType string, i Interaction) bool {
	return !s.Restricted() && s.grants(c, resourceType, i)
}

// grants is Permits without the restriction check.
func (s Scope) grants(c Context, resourceType string, i Interaction) bool {
	return s.IsResource() && s.Context == c && validType(resourceType) &&
		(s.ResourceType == "*" || s.ResourceType == resourceType) &&
		i != 0 && i&^allInteractions == 0 && s.Interactions&i == i
}

// PermitsQuery reports whether s permits interaction i on resourceType in
// context c for a request carrying the FHIR search parameters query. An
// unrestricted scope answers as Permits. A restricted scope permits only a
// search (i == Search) whose parameters include every name=value pair of
// the restriction verbatim: FHIR ANDs repeated parameters, so extra
// parameters only narrow the result, while a changed value ("a,b" is an OR)
// or a named query (_query) could widen it and is refused. The FHIR layer
// must pass the search exactly as it will run it, and may serve a read of a
// restricted type as a search on _id.
func (s Scope) PermitsQuery(c Context, resourceType string, i Interaction, query url.Values) bool {
	if !s.Restricted() {
		return s.Permits(c, resourceType, i)
	}
	if i != Search || !s.grants(c, resourceType, i) || query.Has("_query") {
		return false
	}
	for k, want := range s.Query {
		for _, v := range want {
			if !slices.Contains(query[k], v) {
				return false
			}
		}
	}
	return true
}

// Permits reports whether any of the raw scopes permits interaction i on
// resourceType in context c. Malformed and restricted scopes permit nothing.
func Permits(scopes []string, c Context, resourceType string, i Interaction) bool {
	for _, raw := range scopes {
		if s, err := Parse(raw); err == nil && s.Permits(c, resourceType, i) {
			return true
		}
	}
	return false
}

// PermitsQuery reports whether any of the raw scopes permits interaction i
// on resourceType in context c for a request with search parameters query
// (see Scope.PermitsQuery). Malformed scopes permit nothing.
func PermitsQuery(scopes []string, c Context, resourceType string, i Interaction, query url.Values) bool {
	for _, raw := range scopes {
		if s, err := Parse(raw); err == nil && s.PermitsQuery(c, resourceType, i, query) {
			return true
		}
	}
	return false
}

// Covers reports whether allowed grants at least everything requested does
// (SMART App Launch 2.x, "Scopes and Launch Context"): for resource scopes,
// the same context, the same type or "*", a superset of interactions (v1
// and v2 compare by interaction, so patient/*.read covers
// patient/Coverage.rs), and, when allowed has a search restriction, the very
// same restriction on requested. A restriction on requested alone only
// narrows it. Non-resource scopes cover only the identical scope.
func Covers(allowed, requested Scope) bool {
	if !allowed.IsResource() || !requested.IsResource() {
		return !allowed.IsResource() && !requested.IsResource() &&
			allowed.Special != "" && allowed.Special == requested.Special
	}
	if allowed.Context != requested.Context {
		return false
	}
	if allowed.ResourceType != "*" && allowed.ResourceType != requested.ResourceType {
		return false
	}
	if requested.Interactions == 0 || requested.Interactions&^allowed.Interactions != 0 {
		return false
	}
	if allowed.Restricted() {
		return sameQuery(allowed.Query, requested.Query)
	}
	return true
}

// sameQuery reports whether two restrictions name the same parameters with
// the same values in the same order.
func sameQuery(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !slices.Equal(av, bv) {
			return false
		}
	}
	return true
}

// Strategy is a fosite.ScopeStrategy (func(haystack []string, needle
// string) bool): it reports whether needle parses and some parseable scope
// in haystack Covers it. Unlike fosite's default wildcard strategy, which
// splits on dots, patient/*.read covers patient/Observation.read, and v2
// scopes with ?query restrictions are understood.
func Strategy(haystack []string, needle string) bool {
	n, err := Parse(needle)
	if err != nil {
		return false
	}
	for _, h := range haystack {
		if hs, err := Parse(h); err == nil && Covers(hs, n) {
			return true
		}
	}
	return false
}
