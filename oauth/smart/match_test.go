package smart

import (
	"net/url"
	"testing"
)

func TestPermits(t *testing.T) {
	tests := []struct {
		name   string
		scopes []string
		ctx    Context
		typ    string
		i      Interaction
		want   bool
	}{
		{"wildcard read", []string{"patient/*.read"}, ContextPatient, "Observation", Read, true},
		{"wildcard search", []string{"patient/*.read"}, ContextPatient, "Observation", Search, true},
		{"read and search at once", []string{"patient/*.read"}, ContextPatient, "Observation", Read | Search, true},
		{"v1 read is not create", []string{"patient/*.read"}, ContextPatient, "Observation", Create, false},
		{"v1 read is not update", []string{"patient/*.read"}, ContextPatient, "Observation", Update, false},
		{"v1 write creates", []string{"patient/Observation.write"}, ContextPatient, "Observation", Create, true},
		{"v1 write does not read", []string{"patient/Observation.write"}, ContextPatient, "Observation", Read, false},
		{"v1 star deletes", []string{"patient/Observation.*"}, ContextPatient, "Observation", Delete, true},
		{"other context", []string{"patient/*.read"}, ContextUser, "Observation", Read, false},
		{"user scope in patient context", []string{"user/*.read"}, ContextPatient, "Observation", Read, false},
		{"system scope", []string{"system/Coverage.rs"}, ContextSystem, "Coverage", Search, true},
		{"other type", []string{"patient/Coverage.rs"}, ContextPatient, "ExplanationOfBenefit", Read, false},
		{"v2 r is not s", []string{"patient/Coverage.r"}, ContextPatient, "Coverage", Search, false},
		{"v2 r", []string{"patient/Coverage.r"}, ContextPatient, "Coverage", Read, true},
		{"v2 r is not r+s", []string{"patient/Coverage.r"}, ContextPatient, "Coverage", Read | Search, false},
		{"v2 d", []string{"patient/Coverage.d"}, ContextPatient, "Coverage", Delete, true},
		{"restricted scope denies", []string{"patient/Observation.rs?category=laboratory"}, ContextPatient, "Observation", Search, false},
		{"restricted wildcard denies", []string{"patient/*.rs?category=laboratory"}, ContextPatient, "Observation", Read, false},
		{"malformed and special permit nothing", []string{"garbage.", "patient/Bad.x", "openid", "patient/Patient.rcs"}, ContextPatient, "Patient", Read, false},
		{"later scope permits", []string{"openid", "patient/Coverage.rs", "patient/Patient.rs"}, ContextPatient, "Patient", Read, true},
		{"no scopes", nil, ContextPatient, "Patient", Read, false},
		{"no interaction", []string{"patient/*.rs"}, ContextPatient, "Patient", 0, false},
		{"unknown interaction bit", []string{"patient/*.cruds"}, ContextPatient, "Patient", 1 << 6, false},
		{"empty type", []string{"patient/*.rs"}, ContextPatient, "", Read, false},
		{"lower-case type", []string{"patient/*.rs"}, ContextPatient, "patient", Read, false},
		{"asking for * needs a wildcard", []string{"patient/Patient.rs"}, ContextPatient, "*", Search, false},
		{"wildcard grants *", []string{"patient/*.rs"}, ContextPatient, "*", Search, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Permits(tc.scopes, tc.ctx, tc.typ, tc.i); got != tc.want {
				t.Errorf("Permits(%q, %s, %q, %d) = %v, want %v", tc.scopes, tc.ctx, tc.typ, tc.i, got, tc.want)
			}
		})
	}
}

func TestPermitsQuery(t *testing.T) {
	const lab = "patient/Observation.rs?category=laboratory"
	q := func(s string) url.Values {
		v, err := url.ParseQuery(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		scope string
		i     Interaction
		query string
		want  bool
	}{
		{"unrestricted acts as Permits", "patient/Observation.rs", Search, "", true},
		{"unrestricted still checks bits", "patient/Observation.r", Search, "", false},
		{"search with the restriction", lab, Search, "category=laboratory", true},
		{"narrower search", lab, Search, "category=laboratory&date=ge2024-01-01&category=x", true},
		{"search without it", lab, Search, "date=ge2024-01-01", false},
		{"no parameters", lab, Search, "", false},
		{"other value", lab, Search, "category=vital-signs", false},
		{"OR widens", lab, Search, "category=laboratory,vital-signs", false},
		{"modifier is another parameter", lab, Search, "category:not=laboratory", false},
		{"named query could ignore it", lab, Search, "category=laboratory&_query=everything", false},
		{"read cannot be checked by query", lab, Read, "category=laboratory", false},
		{"search bit not granted", "patient/Observation.r?category=laboratory", Search, "category=laboratory", false},
		{"every pair needed", "patient/Observation.s?category=a&code=b", Search, "category=a", false},
		{"every pair present", "patient/Observation.s?category=a&code=b", Search, "code=b&category=a", true},
		{"wrong type", "patient/Condition.rs?category=laboratory", Search, "category=laboratory", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.PermitsQuery(ContextPatient, "Observation", tc.i, q(tc.query)); got != tc.want {
				t.Errorf("%q.PermitsQuery(%d, %q) = %v, want %v", tc.scope, tc.i, tc.query, got, tc.want)
			}
			if got := PermitsQuery([]string{"openid", tc.scope}, ContextPatient, "Observation", tc.i, q(tc.query)); got != tc.want {
				t.Errorf("PermitsQuery([%q], %d, %q) = %v, want %v", tc.scope, tc.i, tc.query, got, tc.want)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		allowed, requested string
		want               bool
	}{
		{"patient/*.read", "patient/Observation.read", true},
		{"patient/*.read", "patient/ExplanationOfBenefit.rs", true},
		{"patient/*.read", "patient/ExplanationOfBenefit.r", true},
		{"patient/ExplanationOfBenefit.rs", "patient/ExplanationOfBenefit.read", true},
		{"patient/ExplanationOfBenefit.read", "patient/ExplanationOfBenefit.rs", true},
		{"patient/ExplanationOfBenefit.r", "patient/ExplanationOfBenefit.read", false},
		{"patient/Observation.read", "patient/*.read", false},
		{"patient/*.read", "patient/*.cruds", false},
		{"patient/*.*", "patient/*.cruds", true},
		{"patient/*.cruds", "patient/Coverage.write", true},
		{"patient/*.write", "patient/Coverage.read", false},
		{"patient/*.read", "user/Observation.read", false},
		{"user/*.read", "patient/Observation.read", false},
		{"patient/Observation.rs", "patient/Observation.rs?category=lab", true},
		{"patient/*.read", "patient/Observation.s?category=lab", true},
		{"patient/Observation.rs?category=lab", "patient/Observation.rs", false},
		{"patient/Observation.rs?category=lab", "patient/Observation.rs?category=lab", true},
		{"patient/Observation.rs?category=lab", "patient/Observation.r?category=lab", true},
		{"patient/Observation.rs?category=lab", "patient/Observation.rs?category=vital", false},
		{"patient/Observation.rs?category=lab", "patient/Observation.rs?category=lab&code=x", false},
		{"patient/*.rs?category=lab", "patient/Observation.rs?category=lab", true},
		{"openid", "openid", true},
		{"openid", "fhirUser", false},
		{"launch/patient", "launch", false},
		{"patient/*.read", "openid", false},
		{"openid", "patient/*.read", false},
	}
	for _, tc := range tests {
		a, errA := Parse(tc.allowed)
		r, errR := Parse(tc.requested)
		if errA != nil || errR != nil {
			t.Fatalf("parse %q / %q: %v / %v", tc.allowed, tc.requested, errA, errR)
		}
		if got := Covers(a, r); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.allowed, tc.requested, got, tc.want)
		}
	}
	if Covers(Scope{}, Scope{}) {
		t.Error("the zero Scope covers itself")
	}
}

func TestStrategy(t *testing.T) {
	tests := []struct {
		haystack []string
		needle   string
		want     bool
	}{
		// The trap: fosite's default wildcard strategy splits on dots and
		// does not match these; ours must.
		{[]string{"patient/*.read"}, "patient/Observation.read", true},
		{[]string{"patient/*.read"}, "patient/ExplanationOfBenefit.rs", true},
		{[]string{"patient/ExplanationOfBenefit.rs"}, "patient/ExplanationOfBenefit.read", true},
		{[]string{"patient/ExplanationOfBenefit.r"}, "patient/ExplanationOfBenefit.read", false},
		{[]string{"patient/*.read"}, "patient/*.cruds", false},
		{[]string{"patient/*.read"}, "user/Observation.read", false},
		{[]string{"patient/Observation.rs"}, "patient/Observation.rs?category=lab", true},
		{[]string{"patient/Observation.rs?category=lab"}, "patient/Observation.rs", false},
		{[]string{"patient/Observation.rs?category=lab"}, "patient/Observation.rs?category=lab", true},
		{[]string{"openid", "offline_access"}, "offline_access", true},
		{[]string{"openid"}, "offline", false},
		{[]string{"offline"}, "offline_access", false},
		{[]string{"patient/*.read"}, "patient/Observation.x", false},
		{[]string{"patient/Observation.x", "patient/Coverage.rs"}, "patient/Coverage.r", true},
		{[]string{"patient/Observation.x"}, "patient/Observation.x", false},
		{[]string{""}, "", false},
		{nil, "openid", false},
	}
	for _, tc := range tests {
		if got := Strategy(tc.haystack, tc.needle); got != tc.want {
			t.Errorf("Strategy(%q, %q) = %v, want %v", tc.haystack, tc.needle, got, tc.want)
		}
	}
}

// BenchmarkPermits measures the per-request scope check the FHIR layer
// makes with a typical standalone-launch grant, the match in last place.
func BenchmarkPermits(b *testing.B) {
	scopes := []string{"launch/patient", "openid", "fhirUser", "offline_access",
		"patient/Patient.rs", "patient/Coverage.rs", "patient/ExplanationOfBenefit.rs"}
	for b.Loop() {
		if !Permits(scopes, ContextPatient, "ExplanationOfBenefit", Search) {
			b.Fatal("not permitted")
		}
	}
}

// BenchmarkScopePermits measures the check on scopes parsed once.
func BenchmarkScopePermits(b *testing.B) {
	scopes, err := ParseList("launch/patient openid fhirUser offline_access patient/Patient.rs patient/Coverage.rs patient/ExplanationOfBenefit.rs")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ok := false
		for _, s := range scopes {
			ok = ok || s.Permits(ContextPatient, "ExplanationOfBenefit", Search)
		}
		if !ok {
			b.Fatal("not permitted")
		}
	}
}
