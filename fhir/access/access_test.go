package access

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/oauth/smart"
)

// served is every type of the catalog.
func served() Types {
	ts := Types{}
	for _, t := range catalog.All() {
		ts[t.Name] = t
	}
	return ts
}

const pharmacyType = "type=http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimType|pharmacy"

func TestDecide(t *testing.T) {
	base := Request{
		Authenticated: true, Patient: "p1", Scopes: []string{"patient/ExplanationOfBenefit.read"},
		Served: served(), ResourceType: "ExplanationOfBenefit", Interaction: smart.Read,
	}
	with := func(f func(*Request)) Request { r := base; f(&r); return r }
	restricted := []string{"patient/ExplanationOfBenefit.rs?" + pharmacyType}
	pharmacy, _ := url.ParseQuery(pharmacyType)
	tests := []struct {
		name    string
		req     Request
		allowed bool
		status  int
		issue   Issue
		outcome Outcome
	}{
		{"allowed", base, true, 200, "", Success},
		{"search allowed by v1 read", with(func(r *Request) { r.Interaction = smart.Search }), true, 200, "", Success},
		{"zero request denied", Request{}, false, 401, IssueLogin, Denied},
		{"no token", with(func(r *Request) { r.Authenticated = false }), false, 401, IssueLogin, Denied},
		{"token checked before type", with(func(r *Request) { r.Authenticated, r.ResourceType = false, "Basic" }), false, 401, IssueLogin, Denied},
		{"type not in catalog", with(func(r *Request) { r.ResourceType = "Basic" }), false, 404, IssueNotSupported, NotFound},
		{"type not served here", with(func(r *Request) { r.Served = Types{"Patient": r.Served["Patient"]} }), false, 404, IssueNotSupported, NotFound},
		{"no patient context", with(func(r *Request) { r.Patient = "" }), false, 403, IssueForbidden, Denied},
		{"no interaction", with(func(r *Request) { r.Interaction = 0 }), false, 403, IssueForbidden, Denied},
		{"write interaction", with(func(r *Request) { r.Interaction = smart.Update }), false, 403, IssueForbidden, Denied},
		{"scope for another type", with(func(r *Request) { r.Scopes = []string{"patient/Coverage.read"} }), false, 403, IssueForbidden, Denied},
		{"user scope grants as patient scope", with(func(r *Request) { r.Scopes = []string{"user/*.read"} }), true, 200, "", Success},
		{"user scope for the type", with(func(r *Request) { r.Scopes = []string{"user/ExplanationOfBenefit.read"} }), true, 200, "", Success},
		{"user scope for another type", with(func(r *Request) { r.Scopes = []string{"user/Coverage.read"} }), false, 403, IssueForbidden, Denied},
		{"system scope is not patient scope", with(func(r *Request) { r.Scopes = []string{"system/*.read"} }), false, 403, IssueForbidden, Denied},
		{"user scope: restricted search", with(func(r *Request) {
			r.Scopes, r.Interaction, r.Query = []string{"user/ExplanationOfBenefit.rs?" + pharmacyType}, smart.Search, url.Values{"patient": {"p1"}}
		}), false, 403, IssueForbidden, Denied},
		{"v2 search-only scope refuses read", with(func(r *Request) { r.Scopes = []string{"patient/ExplanationOfBenefit.s"} }), false, 403, IssueForbidden, Denied},
		{"v2 rs wildcard", with(func(r *Request) { r.Scopes = []string{"patient/*.rs"} }), true, 200, "", Success},
		{"no scopes", with(func(r *Request) { r.Scopes = nil }), false, 403, IssueForbidden, Denied},
		{"restricted scope: read decided on the resource", with(func(r *Request) { r.Scopes = restricted }), true, 200, "", Success},
		{"restricted scope: search without the restriction", with(func(r *Request) {
			r.Scopes, r.Interaction, r.Query = restricted, smart.Search, url.Values{"patient": {"p1"}}
		}), false, 403, IssueForbidden, Denied},
		{"restricted scope: search with the restriction", with(func(r *Request) {
			r.Scopes, r.Interaction, r.Query = restricted, smart.Search, pharmacy
		}), true, 200, "", Success},
		{"restricted scope: widened restriction", with(func(r *Request) {
			r.Scopes, r.Interaction = restricted, smart.Search
			r.Query = url.Values{"type": {pharmacy.Get("type") + ",http://x|professional"}}
		}), false, 403, IssueForbidden, Denied},
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
			if d.Allowed && (d.Constraint.Patient != tt.req.Patient || d.Constraint.Interaction != tt.req.Interaction) {
				t.Fatalf("allowed with constraint %+v, want the request's patient and interaction", d.Constraint)
			}
		})
	}
}

func TestConstraintCheck(t *testing.T) {
	c := Constraint{Patient: "p1", Served: served(), Interaction: smart.Read,
		Scopes: []string{"patient/ExplanationOfBenefit.rs", "patient/Organization.rs", "patient/Coverage.rs?status=active"}}
	yes := func(url.Values) bool { return true }
	no := func(url.Values) bool { return false }
	tests := []struct {
		name  string
		facts catalog.Facts
		match Matcher
		want  error
	}{
		{"own record", catalog.Facts{Type: "ExplanationOfBenefit", Patient: "p1"}, nil, nil},
		{"another member's record", catalog.Facts{Type: "ExplanationOfBenefit", Patient: "p2"}, nil, ErrOutsideCompartment},
		{"record naming no member", catalog.Facts{Type: "ExplanationOfBenefit"}, nil, ErrOutsideCompartment},
		{"shared reference data", catalog.Facts{Type: "Organization"}, nil, nil},
		{"shared type without a scope", catalog.Facts{Type: "Practitioner"}, nil, ErrNotGranted},
		{"member data without a scope", catalog.Facts{Type: "Patient", Patient: "p1"}, nil, ErrNotGranted},
		{"type not served", catalog.Facts{Type: "Basic", Patient: "p1"}, yes, ErrNotServed},
		{"restricted scope, matching", catalog.Facts{Type: "Coverage", Patient: "p1"}, yes, nil},
		{"restricted scope, not matching", catalog.Facts{Type: "Coverage", Patient: "p1"}, no, ErrNotGranted},
		{"restricted scope, no matcher", catalog.Facts{Type: "Coverage", Patient: "p1"}, nil, ErrNotGranted},
		{"restricted scope cannot open another compartment", catalog.Facts{Type: "Coverage", Patient: "p2"}, yes, ErrOutsideCompartment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Check(tt.facts, tt.match); !errors.Is(got, tt.want) {
				t.Fatalf("Check(%+v) = %v, want %v", tt.facts, got, tt.want)
			}
		})
	}
	if err := (Constraint{Served: served(), Scopes: []string{"patient/*.rs"}, Interaction: smart.Read}).Check(catalog.Facts{Type: "Patient"}, nil); !errors.Is(err, ErrOutsideCompartment) {
		t.Errorf("a constraint without a patient admitted a record with no owner: %v", err)
	}
}

// TestMemberScopes: a user/ resource scope reads as the same patient/
// scope; nothing else changes.
func TestMemberScopes(t *testing.T) {
	in := []string{"user/*.read", "user/Coverage.rs?status=active", "patient/Patient.r", "system/*.read", "openid",
		"user/Bad.x", "launch/patient", "fhirUser"}
	want := []string{"patient/*.read", "patient/Coverage.rs?status=active", "patient/Patient.r", "system/*.read", "openid",
		"user/Bad.x", "launch/patient", "fhirUser"}
	if got := MemberScopes(in); !slices.Equal(got, want) {
		t.Errorf("MemberScopes = %v, want %v", got, want)
	}
}

// TestUserScopeStaysInTheCompartment: a user/ scope's constraint admits
// the member's own records and shared data, never another member's.
func TestUserScopeStaysInTheCompartment(t *testing.T) {
	d := Decide(Request{Authenticated: true, Patient: "p1", Scopes: []string{"user/*.read"}, Served: served(),
		ResourceType: "ExplanationOfBenefit", Interaction: smart.Search})
	if !d.Allowed {
		t.Fatalf("Decide = %+v", d)
	}
	for _, tt := range []struct {
		facts catalog.Facts
		want  error
	}{
		{catalog.Facts{Type: "ExplanationOfBenefit", Patient: "p1"}, nil},
		{catalog.Facts{Type: "Organization"}, nil},
		{catalog.Facts{Type: "ExplanationOfBenefit", Patient: "p2"}, ErrOutsideCompartment},
	} {
		if err := d.Constraint.Check(tt.facts, nil); !errors.Is(err, tt.want) {
			t.Errorf("Check(%+v) = %v, want %v", tt.facts, err, tt.want)
		}
	}
}

// TestRefusedReadLooksMissing pins that the answer for a resource the
// constraint refuses is the answer for a missing one.
func TestRefusedReadLooksMissing(t *testing.T) {
	m := Missing()
	if m.Status != 404 || m.Issue != IssueNotFound || m.Message != notFoundMessage || m.Allowed {
		t.Fatalf("Missing = %+v", m)
	}
}

// TestSensitiveWithheldUnlessChosen: a resource with a sensitive label is
// withheld unless the member opted in; labels the plan did not configure,
// or a label with another system, change nothing.
func TestSensitiveWithheldUnlessChosen(t *testing.T) {
	part2 := catalog.Coding{System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "42CFRPart2"}
	other := catalog.Coding{System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: "N"}
	sameCodeOtherSystem := catalog.Coding{System: "http://example.org/codes", Code: "42CFRPart2"}
	tests := []struct {
		name    string
		allowed bool
		labels  []catalog.Coding
		want    error
	}{
		{"labelled, not chosen", false, []catalog.Coding{other, part2}, ErrWithheld},
		{"labelled, chosen", true, []catalog.Coding{part2}, nil},
		{"unlabelled", false, nil, nil},
		{"other labels only", false, []catalog.Coding{other}, nil},
		{"same code, other system", false, []catalog.Coding{sameCodeOtherSystem}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(Request{Authenticated: true, Patient: "p1", Scopes: []string{"patient/*.rs"}, Served: served(),
				ResourceType: "ExplanationOfBenefit", Interaction: smart.Read,
				Sensitive: DefaultSensitiveLabels(), SensitiveAllowed: tt.allowed})
			if !d.Allowed {
				t.Fatalf("Decide = %+v", d)
			}
			f := catalog.Facts{Type: "ExplanationOfBenefit", Patient: "p1", Security: tt.labels}
			if got := d.Constraint.Check(f, nil); !errors.Is(got, tt.want) {
				t.Fatalf("Check = %v, want %v", got, tt.want)
			}
		})
	}
	// The compartment comes first: another member's sensitive record is
	// outside the compartment, not "withheld".
	c := Constraint{Patient: "p1", Served: served(), Scopes: []string{"patient/*.rs"}, Interaction: smart.Read, Withheld: DefaultSensitiveLabels()}
	if err := c.Check(catalog.Facts{Type: "ExplanationOfBenefit", Patient: "p2", Security: []catalog.Coding{part2}}, nil); !errors.Is(err, ErrOutsideCompartment) {
		t.Errorf("another member's labelled record: %v", err)
	}
}

func TestParseLabels(t *testing.T) {
	got, err := ParseLabels(" http://a|X, http://b|Y ,")
	if err != nil || len(got) != 2 || got[0] != (catalog.Coding{System: "http://a", Code: "X"}) || got[1].Code != "Y" {
		t.Fatalf("ParseLabels = %v, %v", got, err)
	}
	_, err = ParseLabels("http://a|X,nocode,|Y,http://c|")
	if err == nil || !strings.Contains(err.Error(), "nocode") || !strings.Contains(err.Error(), "|Y") || !strings.Contains(err.Error(), "http://c|") {
		t.Fatalf("malformed labels: %v, want every bad entry named", err)
	}
}
