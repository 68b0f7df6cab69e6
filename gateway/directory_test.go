package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestDirectory: {base}/directory and {base}/directory.json list the
// approved apps only, with name, description, developer, website, policy
// links and attestation, and nothing meant for the plan's eyes (contacts,
// redirect URIs, review notes); the JSON is readable from any page.
func TestDirectory(t *testing.T) {
	h := newHarness(t, memoryStore)
	register := func(name string, extra map[string]any) string {
		body := map[string]any{"name": name, "developer": name + " Inc.", "redirect_uris": []string{appRedirect}, "public": true,
			"contact_email": "secret-contact@" + strings.ToLower(strings.Fields(name)[0]) + ".example", "description": "About " + name + "."}
		for k, v := range extra {
			body[k] = v
		}
		var reg struct {
			ClientID string `json:"client_id"`
		}
		if code := h.admin("POST", "/admin/apps", body, &reg); code != http.StatusCreated {
			t.Fatalf("register %s: %d", name, code)
		}
		return reg.ClientID
	}
	listed := register("Listed Tracker", map[string]any{"website_url": "https://listed.example/", "privacy_policy_url": "https://listed.example/privacy",
		"terms_url": "https://listed.example/terms", "attestation": map[string]any{"answers": map[string]bool{"public_policy": true, "device_data": false}, "by": "Lee"}})
	plain := register("Plain Diary", nil)
	pending := register("Pending Wallet", nil)
	suspended := register("Suspended Coach", nil)
	for _, id := range []string{listed, plain, suspended} {
		h.admin("POST", "/admin/apps/"+id+"/approve", testApproval, nil)
	}
	h.admin("POST", "/admin/apps/"+suspended+"/suspend", testRefusal("internal note"), nil)

	resp, err := http.Get(h.base + "/directory.json")
	if err != nil {
		t.Fatal(err)
	}
	var dir struct {
		Apps []map[string]any `json:"apps"`
	}
	err = json.NewDecoder(resp.Body).Decode(&dir)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("directory.json: %d %v %v", resp.StatusCode, err, resp.Header)
	}
	var names []string
	for _, a := range dir.Apps {
		names = append(names, a["name"].(string))
	}
	// The demo's own app is approved too.
	if strings.Join(names, ",") != "Demo Health Tracker,Listed Tracker,Plain Diary" {
		t.Fatalf("directory lists %v, want the demo app and the two approved apps", names)
	}
	dir.Apps = dir.Apps[1:]
	first, _ := json.Marshal(dir.Apps[0])
	for _, want := range []string{`"client_id":"` + listed, `"description":"About Listed Tracker."`, `"developer":"Listed Tracker Inc."`,
		`"website_url":"https://listed.example/"`, `"privacy_policy_url":"https://listed.example/privacy"`, `"terms_url":"https://listed.example/terms"`,
		`"status":"declined"`, `"public_policy":"yes"`, `"device_data":"no"`} {
		if !strings.Contains(string(first), want) {
			t.Errorf("directory entry lacks %s: %s", want, first)
		}
	}
	if att := dir.Apps[1]["attestation"].(map[string]any); att["status"] != "none" {
		t.Errorf("unattested app: %v", att)
	}

	p := h.browser().get(h.base + "/directory")
	if p.status != 200 || !strings.Contains(p.body, "Listed Tracker") || !strings.Contains(p.body, "Plain Diary") ||
		!strings.Contains(p.body, "What Listed Tracker answered:") || !strings.Contains(p.body, "Plain Diary has not told") {
		t.Fatalf("directory page: %d\n%s", p.status, p.body)
	}
	for _, body := range []string{p.body, string(mustMarshal(t, dir))} {
		for _, secret := range []string{"Pending Wallet", "Suspended Coach", "secret-contact", appRedirect, "internal note", pending, suspended} {
			if strings.Contains(body, secret) {
				t.Errorf("the directory shows %q", secret)
			}
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
