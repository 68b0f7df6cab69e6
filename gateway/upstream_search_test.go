package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/patientaccess/gateway/gateway"
)

// TestUpstreamDeclaredSearches: in front of Medplum, every search
// parameter the gateway's CapabilityStatement declares for a type alice
// has records of is run with a value taken from one of her records, and
// must find exactly what Medplum itself finds for that search in her
// compartment (less the claim she did not share as sensitive): results,
// not only status. The gateway declares no _include, as Medplum's
// in-memory repository serves none.
func TestUpstreamDeclaredSearches(t *testing.T) {
	m := startMedplum(t)
	h := newPlanHarness(t, memoryStore, linkByIdentifier, func(c *gateway.Config, _ *gateway.Options) { c.Upstream = m.upstream })
	tok := h.launchWithPlan(h.registerApp(false, "approved"), planAlice)
	alice := "alice-1001"
	var cs struct {
		Rest []struct {
			Resource []struct {
				Type          string
				SearchParam   []struct{ Name string }
				SearchInclude []string
			}
		}
	}
	h.getJSON(h.fhir+"/metadata", &cs)
	ran := 0
	for _, r := range cs.Rest[0].Resource {
		if len(r.SearchInclude) > 0 {
			t.Errorf("%s: the gateway declares _include %v, which Medplum does not serve", r.Type, r.SearchInclude)
		}
		status, body := h.fhirGet(tok.AccessToken, "/"+r.Type+"?_count=1")
		if status != 200 || len(entries(body)) == 0 {
			t.Logf("%s: no record of alice's to take values from (%d)", r.Type, status)
			continue
		}
		sample := entries(body)[0].(map[string]any)["resource"].(map[string]any)
		compartment := map[string]string{"Patient": "_id=" + alice, "Coverage": "patient=Patient%2F" + alice,
			"ExplanationOfBenefit": "patient=Patient%2F" + alice, "RelatedPerson": "patient=Patient%2F" + alice}[r.Type]
		for _, p := range r.SearchParam {
			value, ok := sampleValue(p.Name, alice, sample)
			if !ok {
				t.Errorf("%s?%s is declared; this test has no way to take a value for it", r.Type, p.Name)
				continue
			}
			q := url.Values{p.Name: {value}}.Encode()
			got := pageThrough(t, h.harness, tok.AccessToken, "/"+r.Type+"?"+q)
			direct := m.url + "/" + r.Type + "?" + q + "&_count=100"
			if compartment != "" {
				direct += "&" + compartment
			}
			_, raw := m.do(t, http.MethodGet, direct, nil)
			want := slices.DeleteFunc(bundleIDs(t, raw), func(id string) bool { return id == "eob-alice-1001-8" })
			if len(got) == 0 || !sameSet(got, want) {
				t.Errorf("%s?%s: the gateway found %v, Medplum finds %v", r.Type, q, got, want)
			}
			t.Logf("%s?%s: %d found, as Medplum", r.Type, q, len(got))
			ran++
		}
	}
	if ran < 8 {
		t.Errorf("only %d declared searches ran", ran)
	}
}

// sampleValue is a search value for param that the record matches.
func sampleValue(param, patient string, r map[string]any) (string, bool) {
	switch param {
	case "_id":
		return r["id"].(string), true
	case "_lastUpdated":
		meta, _ := r["meta"].(map[string]any)
		lu, _ := meta["lastUpdated"].(string)
		return "le" + lu, lu != ""
	case "patient":
		return "Patient/" + patient, true
	case "identifier":
		ids, _ := r["identifier"].([]any)
		if len(ids) == 0 {
			return "", false
		}
		id := ids[0].(map[string]any)
		return id["system"].(string) + "|" + id["value"].(string), true
	case "type":
		raw, _ := json.Marshal(r["type"])
		var cc struct {
			Coding []struct{ System, Code string }
		}
		if json.Unmarshal(raw, &cc) != nil || len(cc.Coding) == 0 {
			return "", false
		}
		return cc.Coding[0].System + "|" + cc.Coding[0].Code, true
	}
	return "", false
}
