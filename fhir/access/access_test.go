package access

import (
	"net/http"
	"testing"

	"github.com/patientaccess/gateway/oauth/smart"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		req    Request
		status int
		code   string
	}{
		{"v1 read scope reads", Request{"p1", []string{"patient/Patient.read"}, "Patient", smart.Read}, 200, ""},
		{"v1 read scope searches", Request{"p1", []string{"patient/Coverage.read"}, "Coverage", smart.Search}, 200, ""},
		{"v2 rs", Request{"p1", []string{"patient/ExplanationOfBenefit.rs"}, "ExplanationOfBenefit", smart.Search}, 200, ""},
		{"wildcard", Request{"p1", []string{"openid", "patient/*.read"}, "Coverage", smart.Read}, 200, ""},
		{"v2 r only cannot search", Request{"p1", []string{"patient/Patient.r"}, "Patient", smart.Search}, 403, "forbidden"},
		{"other type", Request{"p1", []string{"patient/Patient.read"}, "Coverage", smart.Read}, 403, "forbidden"},
		{"user context is not patient context", Request{"p1", []string{"user/Patient.read"}, "Patient", smart.Read}, 403, "forbidden"},
		{"restricted scope", Request{"p1", []string{"patient/Patient.rs?gender=female"}, "Patient", smart.Read}, 403, "forbidden"},
		{"no scopes", Request{"p1", nil, "Patient", smart.Read}, 403, "forbidden"},
		{"no patient context", Request{"", []string{"patient/*.read"}, "Patient", smart.Read}, 403, "forbidden"},
		{"unsupported type", Request{"p1", []string{"patient/*.read"}, "Observation", smart.Read}, 404, "not-supported"},
		{"empty type", Request{"p1", []string{"patient/*.read"}, "", smart.Read}, 404, "not-supported"},
		{"write interaction", Request{"p1", []string{"patient/*.cruds"}, "Patient", smart.Update}, 405, "not-supported"},
		{"no interaction", Request{"p1", []string{"patient/*.read"}, "Patient", 0}, 405, "not-supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.req)
			if d.Allowed != (tt.status == http.StatusOK) || d.Status != tt.status || d.Code != tt.code {
				t.Fatalf("Decide = %+v, want status %d code %q", d, tt.status, tt.code)
			}
			if !d.Allowed && d.Reason == "" {
				t.Fatal("a denial must carry a reason")
			}
		})
	}
}

func TestInCompartment(t *testing.T) {
	tests := []struct {
		name, typ, raw, patient string
		want                    bool
	}{
		{"patient own", "Patient", `{"resourceType":"Patient","id":"p1"}`, "p1", true},
		{"patient other", "Patient", `{"resourceType":"Patient","id":"p2"}`, "p1", false},
		{"patient empty id", "Patient", `{"resourceType":"Patient","id":""}`, "", false},
		{"declared type differs", "Patient", `{"resourceType":"Coverage","id":"p1"}`, "p1", false},
		{"coverage own", "Coverage", `{"resourceType":"Coverage","id":"c","beneficiary":{"reference":"Patient/p1"}}`, "p1", true},
		{"coverage other", "Coverage", `{"resourceType":"Coverage","id":"c","beneficiary":{"reference":"Patient/p2"}}`, "p1", false},
		{"coverage absolute ref", "Coverage", `{"resourceType":"Coverage","beneficiary":{"reference":"http://x/Patient/p1"}}`, "p1", false},
		{"coverage versioned ref", "Coverage", `{"resourceType":"Coverage","beneficiary":{"reference":"Patient/p1/_history/1"}}`, "p1", false},
		{"coverage patient field ignored", "Coverage", `{"resourceType":"Coverage","patient":{"reference":"Patient/p1"}}`, "p1", false},
		{"eob own", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","patient":{"reference":"Patient/p1"}}`, "p1", true},
		{"eob other", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","patient":{"reference":"Patient/p2"}}`, "p1", false},
		{"eob no patient", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit"}`, "", false},
		{"eob beneficiary ignored", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","beneficiary":{"reference":"Patient/p1"}}`, "p1", false},
		{"eob wrong-type reference", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","patient":{"reference":"Group/p1"}}`, "p1", false},
		{"other type", "Observation", `{"resourceType":"Observation","subject":{"reference":"Patient/p1"},"patient":{"reference":"Patient/p1"}}`, "p1", false},
		{"malformed", "Patient", `{"resourceType":"Patient","id":"p1"`, "p1", false},
		{"reference not a string", "ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","patient":{"reference":1}}`, "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InCompartment(tt.typ, []byte(tt.raw), tt.patient); got != tt.want {
				t.Fatalf("InCompartment = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	long := string(make([]byte, 65))
	for s, want := range map[string]bool{
		"a1c3e5d7-alice": true, "A.b-9": true, "": false, "a/b": false, "a b": false, long: false, "é": false,
	} {
		if ValidID(s) != want {
			t.Errorf("ValidID(%q) = %v, want %v", s, !want, want)
		}
	}
}

func FuzzInCompartment(f *testing.F) {
	f.Add("Patient", `{"resourceType":"Patient","id":"p1"}`, "p1", "p2")
	f.Add("Coverage", `{"resourceType":"Coverage","beneficiary":{"reference":"Patient/p1"}}`, "p1", "P1")
	f.Add("ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","patient":{"reference":"Patient/p1"},"patient":{"reference":"Patient/p2"}}`, "p2", "p1")
	f.Add("ExplanationOfBenefit", `{"resourceType":"ExplanationOfBenefit","PATIENT":{"reference":"Patient/x"}}`, "x", "")
	f.Fuzz(func(t *testing.T, typ, raw, p, q string) {
		in := InCompartment(typ, []byte(raw), p)
		if in && (p == "" || !Supported(typ)) {
			t.Fatalf("accepted for empty patient or unsupported type %q", typ)
		}
		if in && p != q && InCompartment(typ, []byte(raw), q) {
			t.Fatalf("resource accepted for both %q and %q", p, q)
		}
	})
}
