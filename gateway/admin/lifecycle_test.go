package admin_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/admin"
	"github.com/patientaccess/gateway/gateway/store/memory"
)

// TestLifecycle registers an app, moves it through every decision, and
// checks every answer on the way never shows the secret or its hash.
func TestLifecycle(t *testing.T) {
	store := memory.New(nil)
	srv := newServer(t, testToken, store)
	auth := "Bearer " + testToken
	var outputs []string
	do := func(method, path, body string, want int) answer {
		t.Helper()
		got := call(t, srv, method, path, auth, body)
		if got.status != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, got.status, got.body, want)
		}
		outputs = append(outputs, got.body)
		return got
	}

	reg := do("POST", "/admin/apps", `{"name":"Health Wallet","developer":"Wallet Inc.","contact_email":"security@wallet.example",
		"redirect_uris":["https://wallet.example/cb","com.wallet.app:/cb"],"scope":"openid patient/Patient.rs",
		"privacy_policy_url":"https://wallet.example/privacy","attestation":"attested"}`, http.StatusCreated)
	var created admin.RegisterResponse
	if err := json.Unmarshal([]byte(reg.body), &created); err != nil {
		t.Fatal(err)
	}
	id, secret := created.ClientID, created.ClientSecret
	stored, err := store.GetApp(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if secret == "" || !apps.SecretMatches(stored.SecretHash, secret) {
		t.Fatalf("the answered secret does not match the stored hash")
	}
	if created.App.Status != apps.StatusPending || created.App.AttestationStatus != apps.AttestationAttested ||
		created.App.Attestation.By != apps.TokenActor.Name || created.App.RegisteredBy != apps.TokenActor ||
		strings.Join(created.App.Scopes, " ") != "openid patient/Patient.rs" || created.App.ClientID != id {
		t.Errorf("registered app = %+v", created.App)
	}
	// A confidential app may not use a private-use scheme (RFC 8252 is for
	// native public apps): the registration stands, its check fails.
	if got := created.Checks.Failed(); strings.Join(got, ",") != apps.CritRedirectHTTPS {
		t.Errorf("failed checks at registration = %v, want [%s]", got, apps.CritRedirectHTTPS)
	}

	do("GET", "/admin/apps/"+id, "", http.StatusOK)
	if got := do("POST", "/admin/apps/"+id+"/approve", "", http.StatusConflict); got.errorCode(t) != "checks_failed" ||
		!strings.Contains(got.body, apps.CritRedirectHTTPS) {
		t.Errorf("approve without override: %s", got.body)
	}
	do("POST", "/admin/apps/"+id+"/approve", `{"override":"the private-use scheme is the wallet's own; reviewed by hand"}`, http.StatusOK)
	if got := do("POST", "/admin/apps/"+id+"/suspend", `{"evidence":"data breach reported"}`, http.StatusBadRequest); !strings.Contains(got.body, "cite at least one criterion") {
		t.Errorf("suspend without criteria: %s", got.body)
	}
	if got := do("POST", "/admin/apps/"+id+"/suspend", `{"criteria":["no-such-criterion"],"evidence":"x"}`, http.StatusBadRequest); !strings.Contains(got.body, "not a criterion") {
		t.Errorf("suspend citing an unknown criterion: %s", got.body)
	}
	do("POST", "/admin/apps/"+id+"/suspend", `{"reason":"unknown"}`+"x", http.StatusBadRequest)
	susp := do("POST", "/admin/apps/"+id+"/suspend", `{"criteria":["reported-compromise"],"reason":"data breach reported"}`, http.StatusOK)
	var view admin.AppView
	if err := json.Unmarshal([]byte(susp.body), &view); err != nil {
		t.Fatal(err)
	}
	if view.Status != apps.StatusSuspended || view.StatusReason != "data breach reported" ||
		view.TokensValidAfter == nil || view.TokensValidAfter.Before(t0) {
		t.Errorf("suspended app = %+v", view)
	}
	if got := do("POST", "/admin/apps/"+id+"/deny", `{"criteria":["reported-compromise"],"evidence":"not fixed"}`, http.StatusConflict); got.errorCode(t) != "conflict" {
		t.Errorf("deny a suspended app: %s", got.body)
	}
	again := do("POST", "/admin/apps/"+id+"/reinstate", `{"override":"fixed; the wallet's own scheme","note":"breach closed"}`, http.StatusOK)
	if !strings.Contains(again.body, `"status":"approved"`) && !strings.Contains(again.body, `"status": "approved"`) {
		t.Errorf("reinstatement: %s", again.body)
	}
	var detail admin.AppDetail
	if err := json.Unmarshal([]byte(do("GET", "/admin/apps/"+id, "", http.StatusOK).body), &detail); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range detail.History {
		steps = append(steps, fmt.Sprintf("%s %s>%s by %s [%s] %s%s", e.Action, e.From, e.To, e.Actor, strings.Join(e.Criteria, ","), e.Evidence, e.Override))
	}
	wantSteps := []string{
		"register >pending by token:admin-token [redirect-uri-https] ",
		"approve pending>approved by token:admin-token [redirect-uri-https] the private-use scheme is the wallet's own; reviewed by hand",
		"suspend approved>suspended by token:admin-token [reported-compromise] data breach reported",
		"reinstate suspended>approved by token:admin-token [redirect-uri-https] fixed; the wallet's own scheme",
	}
	if strings.Join(steps, "\n") != strings.Join(wantSteps, "\n") {
		t.Errorf("history:\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.Join(wantSteps, "\n"))
	}
	if detail.Checks == nil || detail.Checks.CriteriaVersion != apps.CriteriaVersion || detail.Usage.LiveMembers != 0 {
		t.Errorf("detail checks %+v usage %+v", detail.Checks, detail.Usage)
	}

	pub := do("POST", "/admin/apps", `{"name":"Pocket","redirect_uris":["http://127.0.0.1:9000/cb"],"public":true}`, http.StatusCreated)
	if strings.Contains(pub.body, "client_secret") {
		t.Errorf("a public app got a secret: %s", pub.body)
	}
	list := do("GET", "/admin/apps", "", http.StatusOK)
	var listed struct{ Apps []admin.AppView }
	if err := json.Unmarshal([]byte(list.body), &listed); err != nil || len(listed.Apps) != 2 || listed.Apps[0].ClientID != id {
		t.Errorf("list = %s (%v)", list.body, err)
	}

	audit := do("GET", "/admin/audit?limit=1000", "", http.StatusOK)
	var events struct{ Events []apps.Event }
	if err := json.Unmarshal([]byte(audit.body), &events); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events.Events {
		actions = append(actions, e.Action+":"+e.Reason)
		if e.Actor != "token:admin-token" {
			t.Errorf("event %s by %q, want the admin token", e.Action, e.Actor)
		}
	}
	want := "app.register:,app.reinstate:fixed; the wallet's own scheme,app.suspend:data breach reported," +
		"app.approve:the private-use scheme is the wallet's own; reviewed by hand,app.register:"
	if got := strings.Join(actions, ","); got != want {
		t.Errorf("audit (newest first) = %s\nwant %s", got, want)
	}
	if got := do("GET", "/admin/audit?limit=2", "", http.StatusOK); strings.Count(got.body, `"action"`) != 2 {
		t.Errorf("limit=2 answered %s", got.body)
	}

	forbidden := []string{"secret_hash", hex.EncodeToString(stored.SecretHash), base64.StdEncoding.EncodeToString(stored.SecretHash)}
	for i, out := range outputs {
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Errorf("answer %d contains %q: %s", i, f, out)
			}
		}
		if i > 0 && strings.Contains(out, secret) {
			t.Errorf("answer %d repeats the client secret", i)
		}
	}
}

func TestAuditLimit(t *testing.T) {
	srv := newServer(t, testToken, nil)
	for _, q := range []string{"0", "1001", "-1", "ten", "1.5"} {
		got := call(t, srv, "GET", "/admin/audit?limit="+q, "Bearer "+testToken, "")
		if got.status != http.StatusBadRequest || got.errorCode(t) != "invalid_request" {
			t.Errorf("limit=%s: %d %s", q, got.status, got.body)
		}
	}
	for _, q := range []string{"", "?limit=1", "?limit=1000"} {
		got := call(t, srv, "GET", "/admin/audit"+q, "Bearer "+testToken, "")
		if got.status != http.StatusOK || !strings.Contains(got.body, `"events":`) && !strings.Contains(got.body, `"events": `) {
			t.Errorf("audit%s: %d %s", q, got.status, got.body)
		}
	}
}

func TestClient(t *testing.T) {
	srv := newServer(t, testToken, nil)
	ctx := context.Background()
	c := &admin.Client{BaseURL: srv.URL + "/", Token: testToken, HTTP: srv.Client()}

	created, err := c.Register(ctx, admin.RegisterRequest{Name: "Wallet", RedirectURIs: []string{"https://w.example/cb"}})
	if err != nil || created.ClientSecret == "" || created.App.Status != apps.StatusPending {
		t.Fatalf("Register = %+v, %v", created, err)
	}
	if _, err := c.Decide(ctx, created.ClientID, "approve", admin.DecideRequest{}); !admin.IsStatus(err, http.StatusConflict) ||
		!strings.Contains(err.Error(), apps.CritContact) {
		t.Fatalf("Decide without contact details or override: %v", err)
	}
	view, err := c.Decide(ctx, created.ClientID, "approve", admin.DecideRequest{Override: "contact known by phone"})
	if err != nil || view.Status != apps.StatusApproved {
		t.Fatalf("Decide = %+v, %v", view, err)
	}
	list, err := c.List(ctx, nil)
	if err != nil || len(list) != 1 || list[0].ClientID != created.ClientID {
		t.Fatalf("List = %+v, %v", list, err)
	}

	_, err = c.Register(ctx, admin.RegisterRequest{Name: "Bad", RedirectURIs: []string{"http://w.example/cb"}})
	if !admin.IsStatus(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "must use https") {
		t.Errorf("Register invalid: %v", err)
	}
	if _, err := c.Decide(ctx, created.ClientID, "suspend", admin.DecideRequest{Criteria: []string{apps.CritAbusiveTraffic}}); err == nil || !strings.Contains(err.Error(), "give the evidence") {
		t.Errorf("Decide without evidence: %v", err)
	}
	if _, err := c.Decide(ctx, "no/such id", "approve", admin.DecideRequest{}); !admin.IsStatus(err, http.StatusNotFound) {
		t.Errorf("Decide unknown: %v", err)
	}
	bad := &admin.Client{BaseURL: srv.URL, Token: "wrong", HTTP: srv.Client()}
	if _, err := bad.List(ctx, nil); !admin.IsStatus(err, http.StatusUnauthorized) || !strings.Contains(err.Error(), "token") {
		t.Errorf("List with a wrong token: %v", err)
	}
}
