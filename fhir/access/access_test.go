package access

import (
	"net/http"
	"testing"

	"github.com/patientaccess/gateway/oauth/smart"
)

func TestDecide(t *testing.T) {
	base := Request{
		Authenticated: true, Patient: "p1", Scopes: []string{"patient/ExplanationOfBenefit.read"},
		ResourceType: "ExplanationOfBenefit", Supported: true, Interaction: smart.Read,
	}
	with := func(f func(*Request)) Request { r := base; f(&r); return r }
	tests := []struct {
		name    string
		req     Request
		allowed bool
		status  int
		issue   Issue
		outcome Outcome
	}{
		{"allowed before fetch", base, true, 200, "", Success},
		{"search allowed by v1 read", with(func(r *Request) { r.Interaction = smart.Search }), true, 200, "", Success},
		{"zero request denied", Request{}, false, 401, IssueLogin, Denied},
		{"no token", with(func(r *Request) { r.Authenticated = false }), false, 401, IssueLogin, Denied},
		{"token checked before type", with(func(r *Request) { r.Authenticated, r.Supported = false, false }), false, 401, IssueLogin, Denied},
		{"unsupported type", with(func(r *Request) { r.Supported = false }), false, 404, IssueNotSupported, NotFound},
		{"no patient context", with(func(r *Request) { r.Patient = "" }), false, 403, IssueForbidden, Denied},
		{"no interaction", with(func(r *Request) { r.Interaction = 0 }), false, 403, IssueForbidden, Denied},
		{"write interaction", with(func(r *Request) { r.Interaction = smart.Update }), false, 403, IssueForbidden, Denied},
		{"scope for another type", with(func(r *Request) { r.Scopes = []string{"patient/Coverage.read"} }), false, 403, IssueForbidden, Denied},
		{"user scope is not patient scope", with(func(r *Request) { r.Scopes = []string{"user/*.read"} }), false, 403, IssueForbidden, Denied},
		{"v2 search-only scope refuses read", with(func(r *Request) { r.Scopes = []string{"patient/ExplanationOfBenefit.s"} }), false, 403, IssueForbidden, Denied},
		{"v2 rs wildcard", with(func(r *Request) { r.Scopes = []string{"patient/*.rs"} }), true, 200, "", Success},
		{"no scopes", with(func(r *Request) { r.Scopes = nil }), false, 403, IssueForbidden, Denied},
		{"own resource", with(func(r *Request) { r.Resource = &Resource{Type: "ExplanationOfBenefit", Patient: "p1"} }), true, 200, "", Success},
		{"other patient's resource", with(func(r *Request) { r.Resource = &Resource{Type: "ExplanationOfBenefit", Patient: "p2"} }), false, 404, IssueNotFound, Denied},
		{"resource with no owner", with(func(r *Request) { r.Resource = &Resource{Type: "ExplanationOfBenefit"} }), false, 404, IssueNotFound, Denied},
		{"resource of another type", with(func(r *Request) { r.Resource = &Resource{Type: "Coverage", Patient: "p1"} }), false, 404, IssueNotFound, Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.req)
			if d.Allowed != tt.allowed || d.Status != tt.status || d.Issue != tt.issue || d.Outcome != tt.outcome {
				t.Fatalf("Decide = %+v, want allowed=%v status=%d issue=%q outcome=%q", d, tt.allowed, tt.status, tt.issue, tt.outcome)
			}
			if !d.Allowed && (d.Reason == "" || d.Message == "") {
				t.Fatalf("refusal without reason or message: %+v", d)
			}
		})
	}
}

// TestOutsideCompartmentLooksMissing pins that a resource of another member
// is answered exactly like a missing one.
func TestOutsideCompartmentLooksMissing(t *testing.T) {
	other := Decide(Request{Authenticated: true, Patient: "p1", Scopes: []string{"patient/*.read"}, ResourceType: "Patient",
		Supported: true, Interaction: smart.Read, Resource: &Resource{Type: "Patient", Patient: "p2"}})
	missing := Missing()
	if other.Status != http.StatusNotFound || other.Status != missing.Status || other.Issue != missing.Issue || other.Message != missing.Message {
		t.Fatalf("outside compartment %+v differs from missing %+v", other, missing)
	}
}

func TestInCompartment(t *testing.T) {
	tests := []struct {
		patient, want string
		res           Resource
		in            bool
	}{
		{"p1", "Patient", Resource{"Patient", "p1"}, true},
		{"p1", "Patient", Resource{"Patient", "p2"}, false},
		{"", "Patient", Resource{"Patient", ""}, false},
		{"p1", "Coverage", Resource{"Patient", "p1"}, false},
	}
	for _, tt := range tests {
		if got := InCompartment(tt.patient, tt.want, tt.res); got != tt.in {
			t.Errorf("InCompartment(%q, %q, %+v) = %v, want %v", tt.patient, tt.want, tt.res, got, tt.in)
		}
	}
}
