package smart

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw     string
		ctx     Context
		typ     string
		bits    Interaction
		v2      bool
		special string
		query   string
	}{
		{raw: "patient/Observation.read", ctx: ContextPatient, typ: "Observation", bits: Read | Search},
		{raw: "patient/*.read", ctx: ContextPatient, typ: "*", bits: Read | Search},
		{raw: "user/*.write", ctx: ContextUser, typ: "*", bits: Create | Update | Delete},
		{raw: "system/Patient.*", ctx: ContextSystem, typ: "Patient", bits: Create | Read | Update | Delete | Search},
		{raw: "patient/ExplanationOfBenefit.rs", ctx: ContextPatient, typ: "ExplanationOfBenefit", bits: Read | Search, v2: true},
		{raw: "patient/*.cruds", ctx: ContextPatient, typ: "*", bits: Create | Read | Update | Delete | Search, v2: true},
		{raw: "patient/Coverage.r", ctx: ContextPatient, typ: "Coverage", bits: Read, v2: true},
		{raw: "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
			ctx: ContextPatient, typ: "Observation", bits: Read | Search, v2: true,
			query: "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"},
		{raw: "openid", special: "openid"},
		{raw: "fhirUser", special: "fhirUser"},
		{raw: "launch/patient", special: "launch/patient"},
		{raw: "offline_access", special: "offline_access"},
		{raw: "com.example/custom", special: "com.example/custom"},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			s, err := Parse(tc.raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if s.Raw != tc.raw || s.Context != tc.ctx || s.ResourceType != tc.typ || s.Interactions != tc.bits || s.V2 != tc.v2 || s.Special != tc.special {
				t.Fatalf("Parse(%q) = %+v", tc.raw, s)
			}
			if got := s.Query.Get("category"); got != tc.query {
				t.Fatalf("query category = %q, want %q", got, tc.query)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	for _, raw := range []string{
		"", "patient/Observation", "patient/.read", "patient/observation.read", "patient/Obs1.read",
		"patient/Observation.rcs", "patient/Observation.rr", "patient/Observation.sr", "patient/Observation.",
		"patient/Observation.x", "patient/Observation.read?category=a", "patient/Observation.rs?",
		"patient/Observation.rs?%zz", "open id", "openid\n", "patient/*.read\t", `a"b`,
	} {
		if _, err := Parse(raw); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) err = %v, want ErrMalformed", raw, err)
		}
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("  openid fhirUser   patient/*.read ")
	if err != nil || len(got) != 3 || got[2].ResourceType != "*" {
		t.Fatalf("ParseList = %+v, %v", got, err)
	}
	_, err = ParseList("openid patient/Bad.x launch")
	if err == nil || !strings.Contains(err.Error(), "patient/Bad.x") {
		t.Fatalf("ParseList error %v does not name the bad scope", err)
	}
}

func TestPermits(t *testing.T) {
	tests := []struct {
		scopes []string
		ctx    Context
		typ    string
		i      Interaction
		want   bool
	}{
		{[]string{"patient/*.read"}, ContextPatient, "Observation", Read, true},
		{[]string{"patient/*.read"}, ContextPatient, "Observation", Search, true},
		{[]string{"patient/*.read"}, ContextPatient, "Observation", Create, false},
		{[]string{"patient/*.read"}, ContextUser, "Observation", Read, false},
		{[]string{"patient/Coverage.rs"}, ContextPatient, "ExplanationOfBenefit", Read, false},
		{[]string{"patient/Coverage.r"}, ContextPatient, "Coverage", Search, false},
		{[]string{"patient/Coverage.r"}, ContextPatient, "Coverage", Read, true},
		{[]string{"patient/Observation.rs?category=laboratory"}, ContextPatient, "Observation", Search, false},
		{[]string{"garbage.", "patient/Bad.x", "openid"}, ContextPatient, "Patient", Read, false},
		{nil, ContextPatient, "Patient", Read, false},
		{[]string{"patient/*.rs"}, ContextPatient, "Patient", 0, false},
	}
	for _, tc := range tests {
		if got := Permits(tc.scopes, tc.ctx, tc.typ, tc.i); got != tc.want {
			t.Errorf("Permits(%v, %s, %s, %d) = %v, want %v", tc.scopes, tc.ctx, tc.typ, tc.i, got, tc.want)
		}
	}
}

func TestStrategy(t *testing.T) {
	tests := []struct {
		haystack []string
		needle   string
		want     bool
	}{
		// fosite's default strategy splits on dots and gets this wrong.
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
		{[]string{"patient/*.read"}, "patient/Observation.x", false},
	}
	for _, tc := range tests {
		if got := Strategy(tc.haystack, tc.needle); got != tc.want {
			t.Errorf("Strategy(%v, %q) = %v, want %v", tc.haystack, tc.needle, got, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := map[string]string{
		"patient/ExplanationOfBenefit.rs":     "Read and search your claims (explanations of benefit)",
		"patient/*.read":                      "Read and search all of your health plan records",
		"patient/Coverage.read":               "Read and search your insurance coverage",
		"patient/Coverage.r":                  "Read your insurance coverage",
		"patient/Immunization.cud":            "Add to, change, delete your immunizations",
		"patient/Observation.rs?category=lab": "Read and search your test results and measurements (only category=lab)",
		"patient/DeviceRequest.rs":            "Read and search your DeviceRequest records",
		"offline_access":                      "Keep access when you are not using the app, until you revoke it",
		"launch/patient":                      "Know which member record you chose",
		"fhirUser":                            "Know who you are (your name and member record link)",
		"patient/Bad.x":                       "Unrecognised permission: patient/Bad.x",
		"com.example/x":                       "Other permission: com.example/x",
	}
	for raw, want := range tests {
		if got := Describe(raw); got != want {
			t.Errorf("Describe(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestCategory(t *testing.T) {
	for raw, want := range map[string]string{"patient/*.read": "*", "patient/Coverage.rs": "Coverage", "openid": "openid"} {
		if got := Category(raw); got != want {
			t.Errorf("Category(%q) = %q, want %q", raw, got, want)
		}
	}
}

// FuzzParse checks invariants of the grammar on any input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"patient/*.read", "patient/Observation.rs?category=a|b", "user/Patient.cruds",
		"system/*.*", "openid", "launch/patient", "patient/Observation.rcs", "", "patient/A.r?x=1&x=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := Parse(raw)
		if err != nil {
			if Strategy([]string{raw}, raw) {
				t.Fatalf("malformed %q covers itself", raw)
			}
			return
		}
		again, err := Parse(s.Raw)
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-parse of %q differs: %+v vs %+v (%v)", raw, again, s, err)
		}
		if !Covers(s, s) || !Strategy([]string{raw}, raw) {
			t.Fatalf("%q does not cover itself", raw)
		}
		if s.IsResource() && s.Interactions == 0 {
			t.Fatalf("%q parsed with no interactions", raw)
		}
		_ = Describe(raw)
	})
}

func BenchmarkPermits(b *testing.B) {
	scopes := []string{"launch/patient", "openid", "fhirUser", "offline_access", "patient/Coverage.rs", "patient/ExplanationOfBenefit.rs"}
	for b.Loop() {
		if !Permits(scopes, ContextPatient, "ExplanationOfBenefit", Search) {
			b.Fatal("not permitted")
		}
	}
}
