package fhir

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// TestDeclaredSearchesWork runs every search parameter and _include the
// CapabilityStatement declares against the server: none may be refused.
func TestDeclaredSearchesWork(t *testing.T) {
	e := newTestEnv(t)
	cs, err := models.UnmarshalCapabilityStatement(e.get("", "/fhir/metadata").Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	sample := map[string]string{"token": "x", "date": "ge2020-01-01", "reference": "Patient/" + e.alice.PatientID}
	for _, r := range cs.Rest[0].Resource {
		typ := r.Type.Code()
		for _, p := range r.SearchParam {
			v := sample[p.Type.Code()]
			if p.Name == "_id" {
				v = "some-id"
			}
			if w := e.get("alice-all", "/fhir/"+typ+"?"+p.Name+"="+url.QueryEscape(v)); w.Code != http.StatusOK {
				t.Errorf("%s?%s=%s: %d %s", typ, p.Name, v, w.Code, w.Body)
			}
		}
		for _, inc := range r.SearchInclude {
			if w := e.get("alice-all", "/fhir/"+typ+"?_include="+url.QueryEscape(inc)); w.Code != http.StatusOK {
				t.Errorf("%s?_include=%s: %d %s", typ, inc, w.Code, w.Body)
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
