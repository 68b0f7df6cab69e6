package gateway_test

import (
	"encoding/json"
	"io"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// introspectForm posts form to the introspection endpoint as the app and
// returns the status and the decoded answer.
func (h *harness) introspectForm(conf *oauth2.Config, form url.Values) (int, map[string]any) {
	h.t.Helper()
	resp, err := h.clientPost(conf, h.endpoint("introspection_endpoint"), form)
	if err != nil {
		h.t.Fatalf("introspect: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		h.t.Fatalf("introspect: %d %q: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, out
}

// TestIntrospectionAnswersAsFosite: an app's introspection of its own live
// access token is answered from the token check's one store step and the
// token's compact claims; the answer has every member, with the same
// values, that fosite's introspection gives for the same token (reached
// here by naming a scope, which that path alone checks): active, iss,
// sub, client_id, scope, aud, iat, exp, patient, fhirUser. After the
// refresh that replaces it, the token is inactive on both paths.
func TestIntrospectionAnswersAsFosite(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			conf := h.registerApp(false, "approved")
			tok := h.launchAs(conf, "alice")
			scope := strings.Fields(tok.Extra("scope").(string))
			fast := url.Values{"token": {tok.AccessToken}}
			hinted := url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}
			viaFosite := url.Values{"token": {tok.AccessToken}, "scope": {scope[0]}}
			code, want := h.introspectForm(conf, viaFosite)
			if code != 200 || want["active"] != true {
				t.Fatalf("fosite's introspection: %d %v", code, want)
			}
			for _, m := range []string{"iss", "sub", "client_id", "scope", "aud", "iat", "exp", "patient", "fhirUser"} {
				if _, ok := want[m]; !ok {
					t.Errorf("fosite's answer lacks %q: %v", m, want)
				}
			}
			for _, form := range []url.Values{fast, hinted} {
				if code, got := h.introspectForm(conf, form); code != 200 || !reflect.DeepEqual(got, want) {
					t.Errorf("introspection %v: %d\n got %v\nwant %v", form, code, got, want)
				}
			}
			if r := h.refreshAs(conf, tok.RefreshToken, ""); r.status != 200 {
				t.Fatalf("refresh: %d %s", r.status, r.Error)
			}
			for _, form := range []url.Values{fast, viaFosite} {
				if code, got := h.introspectForm(conf, form); code != 200 || got["active"] != false || len(got) != 1 {
					t.Errorf("replaced token, %v: %d %v, want only active false", form, code, got)
				}
			}
		})
	}
}

// TestIntrospectionRedisRoundTrips counts the Redis round trips of an
// app's introspection of its own live access token, once the token has
// been seen: one, the token check's pipeline, which also judges the
// client's throttles in one script (the client-auth allowance looked at,
// the introspection event taken), and what it sends: that script, the
// record (one field of its request's hash), the grant and the apps
// version. Before, there were three: the client-auth throttle, the token
// check, the introspection throttle (and seven on fosite's path).
func TestIntrospectionRedisRoundTrips(t *testing.T) {
	m := &measuredRedis{}
	h := newHarness(t, m.open)
	conf := h.registerApp(false, "approved")
	tok := h.launchAs(conf, "alice")
	// The first check of a token also finds its request (its claims are
	// then kept in memory, as for FHIR calls).
	if code, got := h.introspectForm(conf, url.Values{"token": {tok.AccessToken}}); code != 200 || got["active"] != true {
		t.Fatalf("first introspection: %d %v", code, got)
	}
	const calls, want = 10, "evalsha hget get get"
	m.rt.reset()
	for range calls {
		if code, got := h.introspectForm(conf, url.Values{"token": {tok.AccessToken}}); code != 200 || got["active"] != true {
			t.Fatalf("introspection: %d %v", code, got)
		}
	}
	if got := m.rt.n.Load(); got != calls {
		t.Errorf("%d introspections made %d Redis round trips, want 1 each", calls, got)
	}
	for _, sent := range m.rt.sentSince() {
		if sent != want {
			t.Errorf("an introspection sent %q, want %q", sent, want)
			break
		}
	}
}
