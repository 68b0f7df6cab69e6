package oauth

import (
	"slices"
	"strings"
	"testing"
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
		{"unregistered dropped", []string{"offline_access", "user/*.read", "patient/Observation.read"}, []string{"patient/Coverage.read"}, nil},
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

func TestConsentGranted(t *testing.T) {
	types := []string{"Patient", "Coverage", "ExplanationOfBenefit"}
	c := consent{
		requested: []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.read", "patient/Coverage.rs"},
		always:    []string{"launch/patient", "openid", "fhirUser"},
		types:     types,
	}
	tests := []struct {
		name   string
		chosen []string
		want   []string
	}{
		{"everything", append(slices.Clone(types), "offline_access"),
			[]string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.read", "patient/Coverage.rs"}},
		{"claims unticked", []string{"Patient", "Coverage"},
			[]string{"launch/patient", "openid", "fhirUser", "patient/Patient.read", "patient/Coverage.read", "patient/Coverage.rs"}},
		{"nothing", nil, []string{"launch/patient", "openid", "fhirUser"}},
		{"forged value ignored", []string{"Observation", "patient/*.write"}, []string{"launch/patient", "openid", "fhirUser"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.granted(tc.chosen); !slices.Equal(got, tc.want) {
				t.Fatalf("granted(%v) = %v, want %v", tc.chosen, got, tc.want)
			}
		})
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
