package oauth

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ory/fosite"
)

func TestNarrowScopes(t *testing.T) {
	tests := []struct {
		name                  string
		requested, registered []string
		want                  []string
	}{
		{"covered as asked", []string{"openid", "patient/Coverage.read"}, []string{"openid", "patient/*.read"}, []string{"openid", "patient/Coverage.read"}},
		{"v2 covered by v1 wildcard", []string{"patient/ExplanationOfBenefit.rs"}, []string{"patient/*.read"}, []string{"patient/ExplanationOfBenefit.rs"}},
		{"wider than registered narrows to registered", []string{"patient/*.read"}, []string{"patient/Coverage.read", "patient/Patient.read"}, []string{"patient/Coverage.read", "patient/Patient.read"}},
		{"unregistered dropped", []string{"offline_access", "system/*.read", "patient/Observation.read"}, []string{"patient/Coverage.read"}, nil},
		{"user scope weighed as patient, kept as user", []string{"user/ExplanationOfBenefit.read", "user/Coverage.rs"}, []string{"patient/*.read"},
			[]string{"user/ExplanationOfBenefit.read", "user/Coverage.rs"}},
		{"user wildcard narrows to registered, as user", []string{"user/*.read"}, []string{"patient/Coverage.read", "openid"},
			[]string{"user/Coverage.read"}},
		{"user scope beyond the registration dropped", []string{"user/Observation.read", "user/Coverage.write"}, []string{"patient/Coverage.read"}, nil},
		{"write never granted from read registration", []string{"patient/Coverage.write"}, []string{"patient/*.read"}, nil},
		{"duplicates once", []string{"openid", "openid"}, []string{"openid"}, []string{"openid"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := narrowScopes(tc.requested, tc.registered); !slices.Equal(got, tc.want) {
				t.Fatalf("narrowScopes(%v, %v) = %v, want %v", tc.requested, tc.registered, got, tc.want)
			}
		})
	}
}

// TestScopeStrategy: fosite's scope check takes a user/ resource scope
// where its patient/ form is registered or granted, and nothing wider.
func TestScopeStrategy(t *testing.T) {
	tests := []struct {
		haystack []string
		needle   string
		want     bool
	}{
		{[]string{"patient/*.read"}, "user/ExplanationOfBenefit.read", true},
		{[]string{"patient/*.read"}, "patient/Coverage.rs", true},
		{[]string{"patient/Coverage.read"}, "user/ExplanationOfBenefit.read", false},
		{[]string{"patient/*.read"}, "user/Coverage.write", false},
		{[]string{"patient/*.read"}, "system/Coverage.read", false},
		{[]string{"user/Coverage.read"}, "user/Coverage.rs", true},
		{[]string{"user/Coverage.read"}, "patient/Coverage.read", false},
		{[]string{"openid"}, "openid", true},
		{[]string{"patient/*.read"}, "user/Bad.x", false},
	}
	for _, tt := range tests {
		if got := scopeStrategy(tt.haystack, tt.needle); got != tt.want {
			t.Errorf("scopeStrategy(%v, %q) = %v, want %v", tt.haystack, tt.needle, got, tt.want)
		}
	}
}

// consentServer is a Server with just what the consent decision reads:
// four served types in three categories.
func consentServer(offerSensitive bool) *Server {
	types := []ResourceType{
		{Name: "Patient", Category: "about-you"}, {Name: "Coverage", Category: "coverage"},
		{Name: "ExplanationOfBenefit", Category: "claims"}, {Name: "Organization", Category: "directory"},
	}
	s := &Server{cfg: Config{OfferSensitive: offerSensitive, GrantMonths: 13}, types: map[string]ResourceType{},
		deps: Deps{ResourceTypes: types, Categories: []string{"about-you", "claims", "coverage", "clinical", "directory"}}}
	for _, t := range types {
		s.types[t.Name] = t
	}
	return s
}

func requestFor(scopes ...string) fosite.AuthorizeRequester {
	ar := fosite.NewAuthorizeRequest()
	ar.RequestedScope = scopes
	return ar
}

// TestConsentCategories: the page offers the categories the request
// reaches, in the plan's order, and knows whether the app asked to keep
// access.
func TestConsentCategories(t *testing.T) {
	s := consentServer(true)
	c := s.buildConsent(requestFor("launch/patient", "openid", "offline_access", "patient/*.rs"))
	if !slices.Equal(c.categories, []string{"about-you", "claims", "coverage", "directory"}) || !c.offline {
		t.Fatalf("categories %v, offline %v", c.categories, c.offline)
	}
	c = s.buildConsent(requestFor("patient/Coverage.rs", "patient/ExplanationOfBenefit.rs?type=pharmacy"))
	if !slices.Equal(c.categories, []string{"claims", "coverage"}) || c.offline || !slices.Equal(c.only["claims"], []string{"type=pharmacy"}) {
		t.Fatalf("categories %v, offline %v, only %v", c.categories, c.offline, c.only)
	}
}

// TestConsentDecide: the granted scope is exactly what the member left
// ticked, each resource scope naming its type (never a wildcard that would
// grow when the plan serves a new type); offline_access only for a
// time-limited grant; the sensitive opt-in only when offered and ticked.
func TestConsentDecide(t *testing.T) {
	requested := []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs", "patient/Coverage.read"}
	all := []string{"about-you", "claims", "coverage", "directory"}
	tests := []struct {
		name  string
		offer bool
		form  url.Values
		want  decision
	}{
		{"everything, time-limited", true, url.Values{"share": all, "duration": {"limited"}}, decision{scopes: []string{
			"launch/patient", "openid", "fhirUser", "offline_access", "patient/Patient.rs", "patient/Coverage.rs",
			"patient/ExplanationOfBenefit.rs", "patient/Organization.rs", "patient/Coverage.read"}}},
		{"claims unticked", true, url.Values{"share": {"about-you", "coverage", "directory"}, "duration": {"limited"}}, decision{scopes: []string{
			"launch/patient", "openid", "fhirUser", "offline_access", "patient/Patient.rs", "patient/Coverage.rs",
			"patient/Organization.rs", "patient/Coverage.read"}}},
		{"one-time", true, url.Values{"share": {"coverage"}, "duration": {"once"}}, decision{oneTime: true, scopes: []string{
			"launch/patient", "openid", "fhirUser", "patient/Coverage.rs", "patient/Coverage.read"}}},
		{"no duration is one-time", true, url.Values{"share": {"coverage"}}, decision{oneTime: true, scopes: []string{
			"launch/patient", "openid", "fhirUser", "patient/Coverage.rs", "patient/Coverage.read"}}},
		{"sensitive ticked", true, url.Values{"share": {"claims"}, "duration": {"limited"}, "sensitive": {"yes"}}, decision{sensitive: true, scopes: []string{
			"launch/patient", "openid", "fhirUser", "offline_access", "patient/ExplanationOfBenefit.rs"}}},
		{"sensitive not offered", false, url.Values{"share": {"claims"}, "duration": {"limited"}, "sensitive": {"yes"}}, decision{scopes: []string{
			"launch/patient", "openid", "fhirUser", "offline_access", "patient/ExplanationOfBenefit.rs"}}},
		{"nothing ticked", true, url.Values{"sensitive": {"yes"}, "duration": {"once"}}, decision{oneTime: true, scopes: []string{"launch/patient", "openid", "fhirUser"}}},
		{"forged values ignored", true, url.Values{"share": {"clinical", "Observation", "patient/*.write", "*"}, "duration": {"once"}},
			decision{oneTime: true, scopes: []string{"launch/patient", "openid", "fhirUser"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := consentServer(tc.offer)
			got := s.decide(s.buildConsent(requestFor(requested...)), tc.form)
			if !slices.Equal(got.scopes, tc.want.scopes) || got.oneTime != tc.want.oneTime || got.sensitive != tc.want.sensitive {
				t.Fatalf("decide = %+v\nwant %+v", got, tc.want)
			}
			for _, sc := range got.scopes {
				if strings.Contains(sc, "*") {
					t.Fatalf("granted a wildcard: %s", sc)
				}
			}
		})
	}
	// An app that did not ask for offline_access gets a one-time grant,
	// whatever the form says.
	s := consentServer(true)
	d := s.decide(s.buildConsent(requestFor("patient/Coverage.rs")), url.Values{"share": {"coverage"}, "duration": {"limited"}})
	if !d.oneTime || slices.Contains(d.scopes, "offline_access") {
		t.Fatalf("no offline_access asked, yet %+v", d)
	}
}

func TestLocalPath(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"/oauth/authorize?client_id=a&state=b", true},
		{"/account/apps", true},
		{"", false},
		{"https://evil.example/", false},
		{"//evil.example/", false},
		{"/\\evil.example", false},
		{"javascript:alert(1)", false},
		{"/ok\r\nSet-Cookie: x=y", false},
		{"/\t/evil.example", false},
	}
	for _, tc := range tests {
		if _, ok := localPath(tc.in); ok != tc.ok {
			t.Errorf("localPath(%q) ok = %v, want %v", tc.in, ok, tc.ok)
		}
	}
}

func TestConfigValidateReportsEverything(t *testing.T) {
	err := Config{Issuer: "ftp://x", TokenSecret: []byte("short")}.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"issuer", "FHIR base", "token secret", "signing key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
