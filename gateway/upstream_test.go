package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/internal/nodetest"
)

// medplum is an upstream FHIR server nobody here wrote: Medplum's FHIR
// router, accepting only JWT access tokens that panva's oidc-provider
// issues to the gateway with the client credentials grant and a
// private_key_jwt (RS384) assertion, as SMART Backend Services has it.
type medplum struct {
	url      string // FHIR base
	root     string // the adapter's root, for its request log
	upstream gateway.UpstreamConfig
	auth     fhir.UpstreamAuth
}

func startMedplum(t testing.TB) *medplum {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "upstream-client.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "gw-1", Algorithm: "RS384", Use: "sig"}}})
	as := nodetest.Start(t, "backend-auth.mjs", "CLIENT_ID=gateway", "CLIENT_JWKS="+string(jwks), "CLIENT_ALG=RS384", "AUDIENCE=urn:test:fhir")
	fs := nodetest.Start(t, "medplum-fhir.mjs", "JWKS_URL="+as.URL+"/jwks", "TOKEN_AUD=urn:test:fhir")
	m := &medplum{url: fs.URL, root: strings.TrimSuffix(fs.URL, "/fhir"), upstream: gateway.UpstreamConfig{
		URL: fs.URL, TokenURL: as.URL + "/token", ClientID: "gateway", ClientKeyFile: keyFile, ClientKeyID: "gw-1", Scope: "system/*.rs",
	}}
	m.auth = &fhir.ClientCredentials{TokenURL: as.URL + "/token", ClientID: "gateway", Key: key, KeyID: "gw-1", Scopes: []string{"system/*.rs"}}
	m.loadDemo(t)
	return m
}

// loadDemo puts the demo members' data into Medplum through its own
// transaction API.
func (m *medplum) loadDemo(t testing.TB) {
	t.Helper()
	files, _ := filepath.Glob("../fhir/demo/*.json")
	if len(files) == 0 {
		t.Fatal("no demo data found")
	}
	var entries []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			ResourceType, ID string
			Entry            []struct{ Resource json.RawMessage }
		}
		_ = json.Unmarshal(raw, &head)
		resources := []json.RawMessage{raw}
		if head.ResourceType == "Bundle" { // the shared directory: its entries
			resources = resources[:0]
			for _, e := range head.Entry {
				resources = append(resources, e.Resource)
			}
		}
		for _, r := range resources {
			var h struct{ ResourceType, ID string }
			_ = json.Unmarshal(r, &h)
			entries = append(entries, fmt.Sprintf(`{"resource":%s,"request":{"method":"PUT","url":"%s/%s"}}`, r, h.ResourceType, h.ID))
		}
	}
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	status, _ := m.do(t, http.MethodPost, m.url, strings.NewReader(tx))
	if status != http.StatusOK {
		t.Fatalf("load demo data into Medplum: %d", status)
	}
}

// do calls Medplum directly with the gateway's own upstream credentials.
func (m *medplum) do(t testing.TB, method, u string, body io.Reader) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("User-Agent", directAgent)
	if err := m.auth.Authorize(context.Background(), req); err != nil {
		t.Fatalf("upstream token: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// directAgent marks the test's own calls to Medplum in its request log.
const directAgent = "pag-test-direct"

// requests is what the gateway (not the test itself) has asked Medplum so far.
func (m *medplum) requests(t testing.TB) []struct{ Method, Path, Query, Agent string } {
	t.Helper()
	resp, err := http.Get(m.root + "/_test/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var all []struct{ Method, Path, Query, Agent string }
	_ = json.NewDecoder(resp.Body).Decode(&all)
	return slices.DeleteFunc(all, func(r struct{ Method, Path, Query, Agent string }) bool { return r.Agent == directAgent })
}

// TestUpstreamEndToEnd: in front of Medplum, a member signs in through the
// plan's OpenID provider (panva's oidc-provider) and is linked to their
// Patient by member identifier, consents, and an app reads their Patient
// and pages through their claims, byte for byte as Medplum serves them,
// gets 404 for the other member's, and Medplum is only ever asked for that
// member's compartment, and the claim labelled sensitive is withheld; on
// both stores.
func TestUpstreamEndToEnd(t *testing.T) {
	m := startMedplum(t)
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newPlanHarness(t, open, linkByIdentifier, func(c *gateway.Config, _ *gateway.Options) { c.Upstream = m.upstream })
			before := len(m.requests(t))
			tok := h.launchWithPlan(h.registerApp(false, "approved"), planAlice)
			alice, bob := "alice-1001", "bob-2002"
			if tok.Extra("patient") != alice {
				t.Fatalf("token patient %v, want %s", tok.Extra("patient"), alice)
			}
			checkSameBytes(t, h.harness, m, tok.AccessToken, "/Patient/"+alice)

			ids := pageThrough(t, h.harness, tok.AccessToken, "/ExplanationOfBenefit?_count=2")
			_, direct := m.do(t, http.MethodGet, m.url+"/ExplanationOfBenefit?patient=Patient/"+alice+"&_count=100", nil)
			// Medplum has alice's labelled claim too; the member did not
			// opt in to sensitive records, so the gateway leaves it out.
			want := slices.DeleteFunc(bundleIDs(t, direct), func(id string) bool { return id == "eob-alice-1001-8" })
			if len(ids) != 7 || !sameSet(ids, want) {
				t.Fatalf("paged claims %v, Medplum has %v besides the labelled one", ids, want)
			}
			checkSameBytes(t, h.harness, m, tok.AccessToken, "/ExplanationOfBenefit/"+ids[0])

			_, bobs := m.do(t, http.MethodGet, m.url+"/ExplanationOfBenefit?patient=Patient/"+bob, nil)
			for _, path := range []string{"/Patient/" + bob, "/ExplanationOfBenefit/" + bundleIDs(t, bobs)[0]} {
				if status, _ := h.fhirGet(tok.AccessToken, path); status != 404 {
					t.Errorf("alice reading %s: %d, want 404", path, status)
				}
			}
			if status, body := h.fhirGet(tok.AccessToken, "/Coverage?patient="+bob); status != 200 || body["total"] != float64(0) {
				t.Errorf("Coverage?patient=bob: %d %v", status, body["total"])
			}
			// $everything through the upstream: alice's compartment, the
			// labelled claim left out, nothing of bob's.
			status, every := h.fhirGet(tok.AccessToken, "/Patient/"+alice+"/$everything?_count=100")
			var got []string
			for _, e := range entries(every) {
				res := e.(map[string]any)["resource"].(map[string]any)
				got = append(got, res["resourceType"].(string)+"/"+res["id"].(string))
			}
			if status != 200 || !slices.Contains(got, "Patient/"+alice) || slices.Contains(got, "Patient/"+bob) ||
				slices.Contains(got, "ExplanationOfBenefit/eob-alice-1001-8") || len(got) < 1+len(want) {
				t.Errorf("$everything through Medplum: %d %v", status, got)
			}
			for _, r := range m.requests(t)[before:] {
				ownPatient := strings.HasSuffix(r.Path, "/Patient") && strings.Contains(r.Query, "_id="+alice)
				if !strings.Contains(r.Query, "Patient%2F"+alice) && !strings.HasSuffix(r.Path, "/Patient/"+alice) && !ownPatient &&
					!strings.HasSuffix(r.Path, "/metadata") && !strings.Contains(r.Query, "identifier=") {
					t.Errorf("Medplum was asked %s %s?%s outside alice's compartment", r.Method, r.Path, r.Query)
				}
			}
		})
	}
}

// checkSameBytes compares the gateway's answer for path with Medplum's own.
func checkSameBytes(t *testing.T, h *harness, m *medplum, token, path string) {
	t.Helper()
	req, _ := http.NewRequest("GET", h.fhir+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	status, want := m.do(t, http.MethodGet, m.url+path, nil)
	if resp.StatusCode != 200 || status != 200 || !bytes.Equal(got, want) {
		t.Fatalf("%s through the gateway (%d) differs from Medplum's answer (%d):\n%s\n%s", path, resp.StatusCode, status, got, want)
	}
}

// pageThrough follows next links from path and returns every entry id.
func pageThrough(t *testing.T, h *harness, token, path string) []string {
	t.Helper()
	var ids []string
	for next := h.fhir + path; next != ""; {
		if !strings.HasPrefix(next, h.fhir+"/") {
			t.Fatalf("link %q does not point at the gateway", next)
		}
		status, body := h.fhirGet(token, strings.TrimPrefix(next, h.fhir))
		if status != 200 {
			t.Fatalf("GET %s: %d %v", next, status, body)
		}
		raw, _ := json.Marshal(body)
		ids = append(ids, bundleIDs(t, raw)...)
		next = ""
		links, _ := body["link"].([]any)
		for _, l := range links {
			if l := l.(map[string]any); l["relation"] == "next" {
				next, _ = l["url"].(string)
			}
		}
		if len(ids) > 100 {
			t.Fatal("paging does not end")
		}
	}
	return ids
}

func bundleIDs(t testing.TB, raw []byte) []string {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource struct{ ID string } `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("not a Bundle: %v", err)
	}
	var ids []string
	for _, e := range b.Entry {
		ids = append(ids, e.Resource.ID)
	}
	return ids
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
