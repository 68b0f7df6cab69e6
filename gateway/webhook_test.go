package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway/webhook"
	"github.com/patientaccess/gateway/oauth"
)

// TestRevocationReachesTheApp: when the member ends an app's access, the
// app's registered webhook gets a notice signed with the gateway's key (it
// verifies against the published JWKS) naming the member by the app's
// pairwise sub, while the member's revoke never waits for the app; a
// failing receiver is retried, and admins see every delivery.
func TestRevocationReachesTheApp(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	fail := true
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(500 * time.Millisecond) // a slow app
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer receiver.Close()

	h := newHarness(t, memoryStore)
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if code := h.admin("POST", "/admin/apps", map[string]any{"name": "Hooked Tracker", "redirect_uris": []string{appRedirect},
		"public": true, "webhook_url": receiver.URL + "/revoked"}, &reg); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	h.admin("POST", "/admin/apps/"+reg.ClientID+"/approve", testApproval, nil)
	conf := &oauth2.Config{ClientID: reg.ClientID, RedirectURL: appRedirect, Scopes: []string{"launch/patient", "openid", "fhirUser", "patient/*.rs"},
		Endpoint: oauth2.Endpoint{AuthURL: h.endpoint("authorization_endpoint"), TokenURL: h.endpoint("token_endpoint"), AuthStyle: oauth2.AuthStyleInParams}}
	tok := h.launchAs(conf, "alice")
	idToken, _ := tok.Extra("id_token").(string)
	var idClaims struct{ Sub string }
	jws, err := jose.ParseSigned(idToken)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &idClaims)

	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan struct{})
	go func() { defer close(running); h.gw.Webhooks.Run(ctx) }()
	defer cancel()
	b := h.browser()
	portal := b.login(b.get(h.base+"/login?return_to=/account/apps"), "alice")
	start := time.Now()
	b.revokeApp(portal, reg.ClientID)
	if took := time.Since(start); took > 400*time.Millisecond {
		t.Fatalf("the member's revoke took %s: it waited for the app", took)
	}
	deliveries := func() []map[string]any {
		var out struct {
			Deliveries []map[string]any `json:"deliveries"`
		}
		h.admin("GET", "/admin/webhooks?client_id="+reg.ClientID, nil, &out)
		return out.Deliveries
	}
	waitFor(t, func() bool { d := deliveries(); return len(d) == 1 && d[0]["last_result"] == "HTTP 500" })
	if d := deliveries()[0]; d["status"] != "pending" || d["next_attempt"] == nil || d["attempts"] != 1.0 || d["url"] != receiver.URL+"/revoked" {
		t.Fatalf("after a failed attempt, admins see %v", d)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	cancel()
	<-running
	// The retry is due 15 s later: run it with the clock as it will be.
	retry := &webhook.Dispatcher{Store: h.gw.Store, AllowLoopback: true, Now: func() time.Time { return time.Now().Add(20 * time.Second) }}
	retry.RunOnce(context.Background())
	if d := deliveries()[0]; d["status"] != "delivered" || d["attempts"] != 2.0 {
		t.Fatalf("after the retry, admins see %v", d)
	}

	mu.Lock()
	token := bodies[len(bodies)-1]
	mu.Unlock()
	var keys jose.JSONWebKeySet
	h.getJSON(h.base+oauth.PathJWKS, &keys)
	set, err := jose.ParseSigned(token)
	if err != nil || len(set.Signatures) != 1 {
		t.Fatalf("notice: %v", err)
	}
	payload, err := set.Verify(keys.Key(set.Signatures[0].Header.KeyID)[0].Key)
	if err != nil {
		t.Fatalf("the notice does not verify against the gateway's JWKS: %v", err)
	}
	var claims struct {
		Iss, Aud, Sub string
		Events        map[string]map[string]any
	}
	_ = json.Unmarshal(payload, &claims)
	ev := claims.Events["urn:patientaccess:gateway:event:grant-revoked"]
	if claims.Iss != h.base || claims.Aud != reg.ClientID || claims.Sub != idClaims.Sub || idClaims.Sub == "" || ev["patient"] != h.patient["alice"] ||
		set.Signatures[0].Header.ExtraHeaders["typ"] != "secevent+jwt" {
		t.Fatalf("notice claims %+v (id_token sub %q)", claims, idClaims.Sub)
	}
	if strings.Contains(string(payload), "alice\"") {
		t.Fatal("the notice names the member's login")
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5 s")
}
