package fhir

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/fhir/catalog"
	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func TestMetadataIsPublic(t *testing.T) {
	e := newTestEnv(t)
	w := e.get("", "/fhir/metadata")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/fhir+json" {
		t.Fatalf("metadata: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	cs, err := models.UnmarshalCapabilityStatement(w.Body.Bytes())
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var top struct {
		ResourceType string `json:"resourceType"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &top)
	if top.ResourceType != "CapabilityStatement" || cs.Status != models.PublicationStatusActive || cs.Date != capabilityDate ||
		cs.Kind != models.CapabilityStatementKindInstance || cs.FhirVersion != models.FHIRVersion4_0_1 ||
		!slices.Equal(cs.Format, []string{"json"}) || len(cs.Rest) != 1 || cs.Rest[0].Mode != models.RestfulCapabilityModeServer {
		t.Fatalf("CapabilityStatement header wrong: %s", w.Body)
	}
	sec := cs.Rest[0].Security
	if sec == nil || len(sec.Service) != 1 || *sec.Service[0].Coding[0].Code != "SMART-on-FHIR" ||
		*sec.Service[0].Coding[0].System != restfulSecurityServiceSystem {
		t.Fatalf("security.service wrong: %s", w.Body)
	}
	uris := map[string]string{}
	for _, ext := range sec.Extension {
		if ext.Url == smartOAuthURIsExtension {
			for _, sub := range ext.Extension {
				uris[sub.Url] = *sub.ValueUri
			}
		}
	}
	want := map[string]string{"authorize": "http://fhir.test/oauth/authorize", "token": "http://fhir.test/oauth/token",
		"revoke": "http://fhir.test/oauth/revoke", "introspect": "http://fhir.test/oauth/introspect"}
	if len(uris) != len(want) {
		t.Fatalf("oauth-uris = %v", uris)
	}
	for k, v := range want {
		if uris[k] != v {
			t.Errorf("oauth-uris %s = %q, want %q", k, uris[k], v)
		}
	}
	if !slices.Equal(cs.Instantiates, []string{"http://hl7.org/fhir/us/carin-bb/CapabilityStatement/c4bb|2.0.0"}) {
		t.Errorf("instantiates %v, want the C4BB 2.0.0 CapabilityStatement", cs.Instantiates)
	}
	checkResources(t, cs.Rest[0].Resource)
}

func checkResources(t *testing.T, res []models.CapabilityStatementRestResource) {
	all := catalog.All()
	if len(res) != len(all) {
		t.Fatalf("%d resources, want %d", len(res), len(all))
	}
	for i, r := range res {
		typ := all[i]
		if r.Type.Code() != typ.Name || len(r.Interaction) != 2 || r.Interaction[0].Code.Code() != "read" ||
			r.Interaction[1].Code.Code() != "search-type" {
			t.Errorf("%s: type %q interactions %v", typ.Name, r.Type.Code(), r.Interaction)
		}
		params := map[string]string{}
		for _, p := range r.SearchParam {
			params[p.Name] = p.Type.Code()
			if p.Definition == nil || !strings.HasPrefix(*p.Definition, "http://hl7.org/fhir/") {
				t.Errorf("%s?%s: definition %v", typ.Name, p.Name, p.Definition)
			}
		}
		if params["_id"] != "token" || params["_lastUpdated"] != "date" {
			t.Errorf("%s: search params %v lack _id or _lastUpdated", typ.Name, params)
		}
		if typ.Kind == catalog.MemberData && typ.Name != "Patient" && params["patient"] != "reference" {
			t.Errorf("%s: member data without a patient parameter: %v", typ.Name, params)
		}
	}
}

// declaredSamples are, per declared search parameter ("Type?param") and
// _include value, a query on testdata/carin that must find something:
// TestDeclaredSearchesWork fails for a declared one without a sample, so
// the CapabilityStatement cannot declare what no test runs.
var declaredSamples = map[string]string{
	"Patient?_id":          "_id=alice-1001",
	"Patient?_lastUpdated": "_lastUpdated=2023",
	"Patient?identifier":   "identifier=https://fixture.example/member-id|FX-M-alice-1001",

	"Coverage?_id":                     "_id=fx-cov-alice",
	"Coverage?_lastUpdated":            "_lastUpdated=ge2023-01-02",
	"Coverage?patient":                 "patient=Patient/alice-1001",
	"Coverage?identifier":              "identifier=FX-C-fx-cov-alice",
	"Coverage?_include=Coverage:payor": "_include=Coverage:payor",
	"Coverage?_include=Coverage:*":     "_include=Coverage:*",

	"ExplanationOfBenefit?_id":                   "_id=fx-eob-inpatient",
	"ExplanationOfBenefit?_lastUpdated":          "_lastUpdated=gt2023-01-31",
	"ExplanationOfBenefit?patient":               "patient=alice-1001",
	"ExplanationOfBenefit?identifier":            "identifier=FX-RX-1",
	"ExplanationOfBenefit?type":                  "type=http://terminology.hl7.org/CodeSystem/claim-type|pharmacy",
	"ExplanationOfBenefit?service-date":          "service-date=ge2023-06-05",
	"ExplanationOfBenefit?service-start-date":    "service-start-date=2023-01-10",
	"ExplanationOfBenefit?billable-period-start": "billable-period-start=le2023-06-05",

	"ExplanationOfBenefit?_include=ExplanationOfBenefit:patient":   "_include=ExplanationOfBenefit:patient",
	"ExplanationOfBenefit?_include=ExplanationOfBenefit:coverage":  "_include=ExplanationOfBenefit:coverage",
	"ExplanationOfBenefit?_include=ExplanationOfBenefit:insurer":   "_include=ExplanationOfBenefit:insurer",
	"ExplanationOfBenefit?_include=ExplanationOfBenefit:provider":  "_include=ExplanationOfBenefit:provider",
	"ExplanationOfBenefit?_include=ExplanationOfBenefit:care-team": "_include=ExplanationOfBenefit:care-team",
	"ExplanationOfBenefit?_include=ExplanationOfBenefit:payee":     "_include=ExplanationOfBenefit:payee",
	"ExplanationOfBenefit?_include=ExplanationOfBenefit:*":         "_include=ExplanationOfBenefit:*",

	"RelatedPerson?_id":          "_id=fx-rp-alice",
	"RelatedPerson?_lastUpdated": "_lastUpdated=2023-01-01",
	"RelatedPerson?patient":      "patient=alice-1001",

	"Organization?_id":              "_id=fx-org-payer",
	"Organization?_lastUpdated":     "_lastUpdated=le2022-12",
	"Practitioner?_id":              "_id=fx-prac-1",
	"Practitioner?_lastUpdated":     "_lastUpdated=2022",
	"PractitionerRole?_id":          "_id=fx-role-1",
	"PractitionerRole?_lastUpdated": "_lastUpdated=2022-12-01",
	"Location?_id":                  "_id=fx-loc-1",
	"Location?_lastUpdated":         "_lastUpdated=ap2022-12-01",
	"Medication?_id":                "_id=fx-med-1",
	"Medication?_lastUpdated":       "_lastUpdated=sa2022-11-30",
}

// TestDeclaredSearchesWork runs every search parameter and _include the
// CapabilityStatement declares against the server on testdata/carin: each
// must answer 200 with matches (and, for an include, included resources),
// and every declared operation must answer 200 with records.
func TestDeclaredSearchesWork(t *testing.T) {
	e := newFixtureEnv(t)
	cs, err := models.UnmarshalCapabilityStatement(e.get("", "/fhir/metadata").Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	run := func(key string, include bool) {
		t.Helper()
		q, ok := declaredSamples[key]
		if !ok {
			t.Errorf("%s is declared but has no sample in declaredSamples", key)
			return
		}
		typ, _, _ := strings.Cut(key, "?")
		b := decodeBundle(t, e.get("alice-all", "/fhir/"+escapeQuery(typ+"?"+q)))
		if len(b.keys(t, "match")) == 0 || (include && len(b.keys(t, "include")) == 0) {
			t.Errorf("%s?%s found %d entries: %v", typ, q, len(b.Entry), b.Entry)
		}
	}
	for _, r := range cs.Rest[0].Resource {
		typ := r.Type.Code()
		for _, p := range r.SearchParam {
			run(typ+"?"+p.Name, false)
		}
		for _, inc := range r.SearchInclude {
			run(typ+"?_include="+inc, true)
		}
		if len(r.SearchRevInclude) > 0 {
			t.Errorf("%s declares _revinclude %v, which the server does not serve", typ, r.SearchRevInclude)
		}
		for _, op := range r.Operation {
			if typ != "Patient" || op.Name != "everything" {
				t.Errorf("%s declares operation %s, which no test runs", typ, op.Name)
				continue
			}
			b := decodeBundle(t, e.get("alice-all", "/fhir/Patient/alice-1001/$everything"))
			if len(b.Entry) == 0 {
				t.Error("$everything found nothing")
			}
		}
	}
}

// TestDemoProfilesAdvertised pins that every profile the demo data claims
// is listed in the CapabilityStatement.
func TestDemoProfilesAdvertised(t *testing.T) {
	e := newTestEnv(t)
	for _, token := range []string{"alice", "bob"} {
		for _, typ := range demoTypes {
			ct, _ := catalog.Lookup(typ)
			b := decodeBundle(t, e.get(token, "/fhir/"+typ+"?_count=100"))
			for _, entry := range b.Entry {
				var r struct {
					Meta struct{ Profile []string } `json:"meta"`
				}
				_ = json.Unmarshal(entry.Resource, &r)
				if len(r.Meta.Profile) == 0 {
					t.Errorf("%s without meta.profile", entry.FullURL)
				}
				for _, p := range r.Meta.Profile {
					if !slices.Contains(ct.Profiles, p) {
						t.Errorf("%s claims %s, not advertised", entry.FullURL, p)
					}
				}
			}
		}
	}
}

func TestTokenRequired(t *testing.T) {
	tests := []struct {
		name, header string
		status       int
		challenge    string
		code         string
	}{
		{"missing", "", 401, `Bearer realm="fhir"`, "login"},
		{"other scheme", "Basic YWxpY2U6eA==", 401, `Bearer realm="fhir"`, "login"},
		{"invalid", "Bearer nope", 401, `Bearer realm="fhir", error="invalid_token"`, "login"},
		{"empty bearer", "Bearer ", 401, `Bearer realm="fhir", error="invalid_token"`, "login"},
		{"lower-case scheme", "bearer nope", 401, `Bearer realm="fhir", error="invalid_token"`, "login"},
		{"checker fails", "Bearer boom", 500, "", "exception"},
	}
	e := newTestEnv(t)
	for _, tt := range tests {
		for _, target := range []string{"/fhir/Patient/" + e.alice.PatientID, "/fhir/ExplanationOfBenefit", "/fhir/Nope"} {
			t.Run(tt.name+" "+target, func(t *testing.T) {
				r := newRequest(http.MethodGet, target, tt.header)
				w := serve(e.mux, r)
				code, diag := outcomeCode(t, w, tt.status)
				if code != tt.code || w.Header().Get("WWW-Authenticate") != tt.challenge {
					t.Fatalf("code %q challenge %q", code, w.Header().Get("WWW-Authenticate"))
				}
				if tt.status == 500 && (diag != "" || strings.Contains(w.Body.String(), errStoreDown.Error())) {
					t.Fatalf("500 reveals detail: %s", w.Body)
				}
				if ev := e.audit.take(); len(ev) != 0 {
					t.Fatalf("audit events before the token check passed: %+v", ev)
				}
			})
		}
	}
}

func TestRefusals(t *testing.T) {
	e := newTestEnv(t)
	alice := e.alice.PatientID
	tests := []struct {
		name, token, target string
		status              int
		code, outcome       string
	}{
		{"unknown type read", "alice", "/fhir/Observation/x", 404, "not-supported", "not-found"},
		{"unknown type search", "alice", "/fhir/Observation", 404, "not-supported", "not-found"},
		{"scope lacks type read", "alice-patient", "/fhir/Coverage/x", 403, "forbidden", "denied"},
		{"scope lacks type search", "alice-patient", "/fhir/ExplanationOfBenefit", 403, "forbidden", "denied"},
		{"v2 read-only scope cannot search", "alice-r", "/fhir/Patient", 403, "forbidden", "denied"},
		{"no patient context", "no-patient", "/fhir/Patient/" + alice, 403, "forbidden", "denied"},
		{"missing resource", "alice", "/fhir/ExplanationOfBenefit/does-not-exist", 404, "not-found", "not-found"},
		{"invalid id", "alice", "/fhir/Patient/bad$id", 404, "not-found", "not-found"},
		{"bad parameter", "alice", "/fhir/Coverage?foo=bar", 400, "not-supported", "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := outcomeCode(t, e.get(tt.token, tt.target), tt.status)
			if code != tt.code {
				t.Fatalf("issue code %q, want %q", code, tt.code)
			}
			ev := e.audit.take()
			if len(ev) != 1 || ev[0].Outcome != tt.outcome || ev[0].Count != 0 || ev[0].Reason == "" {
				t.Fatalf("audit %+v, want one %q event with a reason", ev, tt.outcome)
			}
		})
	}
	if w := e.get("alice-r", "/fhir/Patient/"+alice); w.Code != http.StatusOK {
		t.Fatalf("v2 read scope cannot read: %d", w.Code)
	}
}

func newRequest(method, target, authorization string) *http.Request {
	r, _ := http.NewRequest(method, target, nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

// TestUnsupportedAnswersOperationOutcome: paths and methods the API does not
// serve still answer FHIR's way.
func TestUnsupportedAnswersOperationOutcome(t *testing.T) {
	mux := http.NewServeMux()
	(&Handler{}).Mount(mux)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"DELETE", "/fhir/Patient/x", http.StatusMethodNotAllowed},
		{"PUT", "/fhir/Patient/x", http.StatusMethodNotAllowed},
		{"GET", "/fhir/Patient/x/_history/1", http.StatusNotFound},
		{"GET", "/fhir/", http.StatusNotFound},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), `"OperationOutcome"`) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, rec.Code, rec.Body)
		}
	}
}
