package smart

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const lab = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
	all := Create | Read | Update | Delete | Search
	tests := []struct {
		raw  string
		want Scope
	}{
		// v1
		{"patient/Observation.read", Scope{Context: ContextPatient, ResourceType: "Observation", Interactions: Read | Search}},
		{"patient/*.read", Scope{Context: ContextPatient, ResourceType: "*", Interactions: Read | Search}},
		{"user/*.write", Scope{Context: ContextUser, ResourceType: "*", Interactions: Create | Update | Delete}},
		{"system/Patient.*", Scope{Context: ContextSystem, ResourceType: "Patient", Interactions: all}},
		// v2
		{"patient/ExplanationOfBenefit.rs", Scope{Context: ContextPatient, ResourceType: "ExplanationOfBenefit", Interactions: Read | Search, V2: true}},
		{"patient/*.cruds", Scope{Context: ContextPatient, ResourceType: "*", Interactions: all, V2: true}},
		{"patient/Coverage.r", Scope{Context: ContextPatient, ResourceType: "Coverage", Interactions: Read, V2: true}},
		{"user/Encounter.c", Scope{Context: ContextUser, ResourceType: "Encounter", Interactions: Create, V2: true}},
		{"system/Claim.ud", Scope{Context: ContextSystem, ResourceType: "Claim", Interactions: Update | Delete, V2: true}},
		{"patient/Observation.crs", Scope{Context: ContextPatient, ResourceType: "Observation", Interactions: Create | Read | Search, V2: true}},
		{"patient/Observation.rs?category=" + lab, Scope{Context: ContextPatient, ResourceType: "Observation",
			Interactions: Read | Search, V2: true, Query: url.Values{"category": {lab}}}},
		{"patient/Observation.s?category=a&category=b&code=x", Scope{Context: ContextPatient, ResourceType: "Observation",
			Interactions: Search, V2: true, Query: url.Values{"category": {"a", "b"}, "code": {"x"}}}},
		// non-resource scopes
		{"openid", Scope{Special: "openid"}},
		{"fhirUser", Scope{Special: "fhirUser"}},
		{"profile", Scope{Special: "profile"}},
		{"launch", Scope{Special: "launch"}},
		{"launch/patient", Scope{Special: "launch/patient"}},
		{"launch/encounter", Scope{Special: "launch/encounter"}},
		{"offline_access", Scope{Special: "offline_access"}},
		{"online_access", Scope{Special: "online_access"}},
		{"com.example/custom", Scope{Special: "com.example/custom"}},
		{"patient", Scope{Special: "patient"}},
		{"Patient/Observation.read", Scope{Special: "Patient/Observation.read"}},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := Parse(tc.raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.want.Raw = tc.raw
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q)\n got %+v\nwant %+v", tc.raw, got, tc.want)
			}
			if got.IsResource() != (tc.want.Special == "") {
				t.Fatalf("IsResource = %v", got.IsResource())
			}
			if got.Restricted() != (tc.want.Query != nil) {
				t.Fatalf("Restricted = %v", got.Restricted())
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct{ raw, why string }{
		{"", "empty"},
		{"patient/Observation", "no permission"},
		{"patient/", "no permission"},
		{"patient/.read", "resource type"},
		{"patient/observation.read", "resource type"},
		{"patient/Obs1.read", "resource type"},
		{"patient/Obs_x.read", "resource type"},
		{"patient/**.read", "resource type"},
		{"patient/Observation.rcs", "permission"},
		{"patient/Observation.rr", "permission"},
		{"patient/Observation.sr", "permission"},
		{"patient/Observation.R", "permission"},
		{"patient/Observation.", "permission"},
		{"patient/Observation.x", "permission"},
		{"patient/Observation.read.x", "permission"},
		{"patient/Observation.Read", "permission"},
		{"patient/Observation.read?category=a", "only v2"},
		{"patient/Observation.*?category=a", "only v2"},
		{"patient/Observation.rs?", "empty"},
		{"patient/Observation.rs?&", "empty"},
		{"patient/Observation.rs?=x", "without a name"},
		{"patient/Observation.rs?category", "no value"},
		{"patient/Observation.rs?category=", "no value"},
		{"patient/Observation.rs?%zz", "valid query"},
		{"patient/Observation.rs?a=1;b=2", "valid query"},
		{"user/Observation.rs?", "empty"},
		{"system/.rs", "resource type"},
		{"open id", "space"},
		{"openid\n", "space"},
		{"patient/*.read\t", "space"},
		{`a"b`, "quote"},
		{`a\b`, "backslash"},
		{"caf\u00e9", "non-ASCII"},
		{"patient/Observation.rs?code=\u00e9", "non-ASCII"},
		{"a\x7f", "control"},
		{"\xff", "non-ASCII"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.raw)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) err = %v, want ErrMalformed", tc.raw, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.why) {
			t.Errorf("Parse(%q) err = %q, want it to say %q", tc.raw, err, tc.why)
		}
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		in      string
		want    []string // Raw of each scope
		wantErr string   // substring of the error; "" for success
	}{
		{"openid fhirUser patient/*.read", []string{"openid", "fhirUser", "patient/*.read"}, ""},
		{"  launch/patient   patient/Coverage.rs ", []string{"launch/patient", "patient/Coverage.rs"}, ""},
		{"", nil, ""},
		{"   ", nil, ""},
		{"openid patient/Bad.x launch", nil, "patient/Bad.x"},
		{"patient/Observation.rcs patient/Bad.x", nil, "patient/Observation.rcs"},
		{"openid\tprofile", nil, `openid\tprofile`},
		{"openid\nprofile", nil, `openid\nprofile`},
	}
	for _, tc := range tests {
		got, err := ParseList(tc.in)
		if tc.wantErr != "" {
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseList(%q) err = %v, want ErrMalformed naming %q", tc.in, err, tc.wantErr)
			}
			if got != nil {
				t.Errorf("ParseList(%q) = %v with an error", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseList(%q): %v", tc.in, err)
			continue
		}
		var raws []string
		for _, s := range got {
			raws = append(raws, s.Raw)
		}
		if !reflect.DeepEqual(raws, tc.want) {
			t.Errorf("ParseList(%q) = %q, want %q", tc.in, raws, tc.want)
		}
	}
}
