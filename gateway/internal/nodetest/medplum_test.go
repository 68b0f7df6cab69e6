package nodetest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/gateway/internal/nodetest"
)

// TestMedplumServesWhatItWasGiven loads a Patient through Medplum's own
// transaction API and reads it back by id and by identifier search, with a
// primitive extension intact: the upstream the gateway's tests rely on
// behaves as a FHIR server.
func TestMedplumServesWhatItWasGiven(t *testing.T) {
	srv := nodetest.Start(t, "medplum-fhir.mjs")
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"p1",
		"identifier":[{"system":"urn:test:member","value":"M-1"}],"birthDate":"1970-01-01",
		"_birthDate":{"extension":[{"url":"urn:test:ext","valueString":"kept"}]}},
		"request":{"method":"PUT","url":"Patient/p1"}}]}`
	resp, err := http.Post(srv.URL, "application/fhir+json", strings.NewReader(tx))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("transaction: %s", resp.Status)
	}

	var p map[string]any
	get(t, srv.URL+"/Patient/p1", &p)
	if p["id"] != "p1" || p["_birthDate"] == nil {
		t.Errorf("read Patient/p1 = %v, want id p1 with _birthDate", p)
	}
	var b struct {
		Total int `json:"total"`
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	get(t, srv.URL+"/Patient?identifier=urn:test:member%7CM-1", &b)
	if b.Total != 1 || len(b.Entry) != 1 || b.Entry[0].Resource["id"] != "p1" {
		t.Errorf("identifier search = %+v, want exactly p1", b)
	}
	get(t, srv.URL+"/Patient?identifier=urn:test:member%7CM-2", &b)
	if b.Total != 0 {
		t.Errorf("identifier search for another member = total %d, want 0", b.Total)
	}
}

func get(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
