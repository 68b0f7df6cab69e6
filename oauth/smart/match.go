package smart

// Permits reports whether s permits interaction i on resourceType in
// context c. A restricted scope (see Restricted) permits nothing here.
func (s Scope) Permits(c Context, resourceType string, i Interaction) bool {
	return s.IsResource() && !s.Restricted() && s.Context == c &&
		(s.ResourceType == "*" || s.ResourceType == resourceType) &&
		i != 0 && s.Interactions&i == i
}

// Permits reports whether any of the raw scopes permits interaction i on
// resourceType in context c. Malformed scopes permit nothing.
func Permits(scopes []string, c Context, resourceType string, i Interaction) bool {
	for _, raw := range scopes {
		if s, err := Parse(raw); err == nil && s.Permits(c, resourceType, i) {
			return true
		}
	}
	return false
}

// Covers reports whether allowed grants at least everything requested does:
// same context, same type or "*", a superset of interactions, and no search
// restriction that requested lacks. Non-resource scopes cover only
// themselves.
func Covers(allowed, requested Scope) bool {
	if !allowed.IsResource() || !requested.IsResource() {
		return !allowed.IsResource() && !requested.IsResource() && allowed.Special == requested.Special && allowed.Special != ""
	}
	if allowed.Context != requested.Context {
		return false
	}
	if allowed.ResourceType != "*" && allowed.ResourceType != requested.ResourceType {
		return false
	}
	if requested.Interactions&^allowed.Interactions != 0 {
		return false
	}
	if allowed.Restricted() {
		return sameQuery(allowed, requested)
	}
	return true
}

func sameQuery(a, b Scope) bool {
	if len(a.Query) != len(b.Query) {
		return false
	}
	for k, av := range a.Query {
		bv := b.Query[k]
		if len(av) != len(bv) {
			return false
		}
		for i := range av {
			if av[i] != bv[i] {
				return false
			}
		}
	}
	return true
}

// Strategy is a fosite.ScopeStrategy: it reports whether needle is covered
// by any scope in haystack. Unlike fosite's default wildcard strategy, which
// splits on dots, patient/*.read covers patient/Observation.read and v2
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
