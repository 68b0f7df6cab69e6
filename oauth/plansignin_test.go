package oauth

import (
	"strings"
	"testing"
)

func TestParseLinkRule(t *testing.T) {
	for in, want := range map[string]string{
		"patient-id":                       "patient-id",
		"identifier:urn:oid:1.2.3":         "identifier:urn:oid:1.2.3",
		"identifier:https://plan.example/": "identifier:https://plan.example/",
		"identifier:":                      "",
		"identifier:no-scheme":             "",
		"identifier:urn:a|b":               "",
		"identifier:https://x.example/a b": "",
		"patient_id":                       "",
		"":                                 "",
	} {
		r, err := ParseLinkRule(in)
		if got := r.String(); (err == nil) != (want != "") || err == nil && got != want {
			t.Errorf("ParseLinkRule(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestMemberKeyKeepsProvidersApart(t *testing.T) {
	a, b := MemberKey("https://idp-a.example", "123"), MemberKey("https://idp-b.example", "123")
	if a == b || !strings.HasSuffix(a, ":123") || !strings.HasPrefix(a, "oidc:") {
		t.Fatalf("MemberKey: %q and %q", a, b)
	}
	if MemberKey("https://idp-a.example", "123") != a {
		t.Fatal("MemberKey is not stable")
	}
}

func TestConfigValidatesPlanSignIn(t *testing.T) {
	cfg := Config{Issuer: "https://gw.example", FHIRBaseURL: "https://gw.example/fhir", TokenSecret: make([]byte, 32),
		PlanSignIn: &PlanSignIn{Issuer: "http://idp.example", Scopes: []string{"profile"}}}
	err := cfg.Validate()
	for _, want := range []string{"must be https", "client id", "client secret", "openid", "signing key"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
	if err := (Config{LocalLoginDisabled: true}).Validate(); err == nil || !strings.Contains(err.Error(), "nobody could sign in") {
		t.Errorf("local login off without a provider: %v", err)
	}
}
