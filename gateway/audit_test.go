package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/gateway/store/storetest"
)

// fhirRaw calls the FHIR API with a bearer token and returns the status,
// the Retry-After header and the body as text.
func (h *harness) fhirRaw(token, path string) (int, string, string) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.fhir+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(body)
}

// wantUnaudited checks that FHIR reads and searches whose audit event
// cannot be recorded are answered 503 and disclose nothing.
func wantUnaudited(t *testing.T, h *harness, token string) {
	t.Helper()
	alice := h.patient["alice"]
	for _, path := range []string{"/Patient/" + alice, "/ExplanationOfBenefit?patient=" + alice, "/Coverage"} {
		code, retry, body := h.fhirRaw(token, path)
		if code != http.StatusServiceUnavailable || retry == "" || !strings.Contains(body, `"OperationOutcome"`) {
			t.Errorf("GET %s with the audit failing: %d Retry-After=%q, want 503 OperationOutcome with Retry-After: %.200s", path, code, retry, body)
		}
		if strings.Contains(body, alice) || strings.Contains(body, `"Bundle"`) || strings.Contains(body, `"Patient"`) {
			t.Errorf("GET %s with the audit failing disclosed data: %.300s", path, body)
		}
	}
}

// TestFHIRNotServedWithoutAudit: a FHIR read or search whose audit event
// cannot be recorded is not served (503), on every store; once the audit
// works again the same token reads.
func TestFHIRNotServedWithoutAudit(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			faulty, open := newFaulty(open)
			h := newHarness(t, open)
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			faulty.setRule(func(m string) error {
				if m == "AppendEvent" {
					return errInjected
				}
				return nil
			})
			wantUnaudited(t, h, tok.AccessToken)
			faulty.setRule(nil)
			if code, _, _ := h.fhirRaw(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != 200 {
				t.Fatalf("read with the audit back: %d, want 200", code)
			}
		})
	}
}

// TestRedisFullServesNoUnauditedReads: with Redis out of memory under
// noeviction, tokens can still be read but no audit event written: FHIR
// answers 503 rather than disclose without a record.
func TestRedisFullServesNoUnauditedReads(t *testing.T) {
	srv := storetest.StartRedis(t, "--maxmemory-policy", "noeviction")
	h := newHarness(t, ownRedis(srv))
	conf := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")
	fill(t, srv)
	wantUnaudited(t, h, tok.AccessToken)
}

// fill makes the server full: maxmemory below what it already uses, so
// that every write is refused with OOM and reads still work.
func fill(t *testing.T, srv *storetest.RedisServer) {
	t.Helper()
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatalf("CONFIG SET maxmemory: %v", err)
	}
	if _, err := srv.Do("SET", "pag-test-filler", strings.Repeat("x", 1024)); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("write to a full Redis: %v, want OOM", err)
	}
}
