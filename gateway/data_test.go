package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/store/memory"
)

// dataHarness starts the gateway from serve's own configuration parsing,
// with --data dir and the demo members (whose logins the test uses).
func dataHarness(t *testing.T, dir string) *harness {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	addr := srv.Listener.Addr().String()
	env := map[string]string{"GATEWAY_DEMO_PASSWORD": demoPassword, "GATEWAY_ADMIN_TOKEN": adminToken}
	cfg, err := gateway.ParseConfig([]string{"--addr", addr, "--demo", "--data", dir},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	gw, err := gateway.New(context.Background(), cfg, gateway.Options{Store: memory.New(nil)})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	srv.Config.Handler = gw.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	h := &harness{t: t, base: cfg.BaseURL, fhir: cfg.FHIRBaseURL(), gw: gw, patient: map[string]string{}}
	h.getJSON(h.fhir+"/.well-known/smart-configuration", &h.disco)
	return h
}

// TestDataDirServed: a claim from an NDJSON file and an Organization from
// a Bundle under --data are served through the FHIR API to a token from a
// real launch, next to the demo data, and only within the compartment.
func TestDataDirServed(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"claims/eob.ndjson": `{"resourceType":"ExplanationOfBenefit","id":"eob-from-file","meta":{"lastUpdated":"2025-06-01T00:00:00Z"},"status":"active","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"professional"}]},"use":"claim","patient":{"reference":"Patient/alice-1001"},"created":"2025-05-30","insurer":{"reference":"Organization/plan-from-file"},"provider":{"display":"Clinic"},"outcome":"complete","insurance":[{"focal":true,"coverage":{"reference":"Coverage/cov-alice-1001"}}],"_outcome":{"extension":[{"url":"http://example.org/x","valueString":"kept"}]}}` + "\n" +
			`{"resourceType":"ExplanationOfBenefit","id":"eob-bob-from-file","meta":{"lastUpdated":"2025-06-01T00:00:00Z"},"status":"active","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"professional"}]},"use":"claim","patient":{"reference":"Patient/bob-2002"},"created":"2025-05-30","insurer":{"display":"Plan"},"provider":{"display":"Clinic"},"outcome":"complete","insurance":[{"focal":true,"coverage":{"reference":"Coverage/cov-bob-2002"}}]}` + "\n",
		"reference/orgs.json": `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Organization","id":"plan-from-file","meta":{"lastUpdated":"2025-01-01T00:00:00Z"},"name":"Synthetic Plan"}}]}`,
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := dataHarness(t, dir)
	demo, err := fhir.ReadData(fhir.DemoData())
	if err != nil {
		t.Fatal(err)
	}
	demoEOBs, demoOrgs := demo.Summary.Types["ExplanationOfBenefit"], demo.Summary.Types["Organization"]
	if d := h.gw.Data; d == nil || d.Types["ExplanationOfBenefit"] != demoEOBs+2 || d.Types["Organization"] != demoOrgs+1 {
		t.Fatalf("loaded %+v, want the demo's %d claims and %d organizations, and the file's 2 claims and one Organization", h.gw.Data, demoEOBs, demoOrgs)
	}
	conf := h.registerApp(false, "approved")
	l := h.newLaunch(conf)
	code := h.authorize(h.browser(), l, "alice", "about-you", "claims", "directory")
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}

	status, eob := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit/eob-from-file")
	if status != 200 || eob["id"] != "eob-from-file" || !strings.Contains(fmt.Sprint(eob["_outcome"]), "kept") {
		t.Fatalf("read the claim from the file: %d %v", status, eob)
	}
	status, bundle := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit?patient=alice-1001&_id=eob-from-file&_include=ExplanationOfBenefit:insurer")
	if status != 200 || len(entries(bundle)) != 2 {
		t.Fatalf("search with _include: %d, %d entries, want the claim and its insurer", status, len(entries(bundle)))
	}
	if code, _ := h.fhirGet(tok.AccessToken, "/ExplanationOfBenefit/eob-bob-from-file"); code != 404 {
		t.Fatalf("bob's claim from the file with alice's token: %d, want 404", code)
	}
	if code, _ := h.fhirGet(tok.AccessToken, "/Patient/alice-1001"); code != 200 {
		t.Fatalf("the demo data beside the files: %d", code)
	}
}

// TestDataDirRefused: a problem in any file stops the start, naming it.
func TestDataDirRefused(t *testing.T) {
	dir := t.TempDir()
	// A Type/id that the demo data holds too.
	dup := `{"resourceType":"Patient","id":"bob-2002","meta":{"lastUpdated":"2024-01-01T00:00:00Z"}}`
	if err := os.WriteFile(filepath.Join(dir, "p.ndjson"), []byte("\n"+dup+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{Addr: "127.0.0.1:0", BaseURL: "http://127.0.0.1:0", Demo: true, DataDir: dir}
	_, err := gateway.New(context.Background(), cfg, gateway.Options{Store: memory.New(nil)})
	want := filepath.Join(dir, "p.ndjson") + ":2: Patient/bob-2002 is also in demo/bob-patient.json"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("gateway.New = %v, want it to say %q", err, want)
	}
}
