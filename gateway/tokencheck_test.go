package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

// accessSignature is the part of an HMAC access token the store keys it by.
func accessSignature(token string) string {
	return token[strings.LastIndex(token, ".")+1:]
}

// TestTokenStoredWithoutClaimsStillReads: an access token stored before
// records carried the token check's compact claims and their compact
// request (as an older gateway wrote it: the request as JSON) still
// reads, and is still refused once revoked.
func TestTokenStoredWithoutClaimsStillReads(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, open)
			tok := h.launchAs(h.registerApp(false, "approved"), "alice")
			ctx := context.Background()
			sig := accessSignature(tok.AccessToken)
			rec, err := h.gw.Store.GetToken(ctx, oauth.KindAccess, sig)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Claims) == 0 {
				t.Fatal("a new access token has no claims")
			}
			// As an older gateway stored it: the request projection as JSON
			// (the session's facts in it), no claims.
			scopes := strings.Fields(fmt.Sprint(tok.Extra("scope")))
			legacy, err := json.Marshal(map[string]any{
				"id": rec.RequestID, "requested_at": time.Now().UTC(), "client_id": rec.ClientID,
				"requested_scopes": scopes, "granted_scopes": scopes,
				"session": map[string]any{
					"oidc":   map[string]any{"expires_at": map[string]any{"access_token": rec.ExpiresAt}, "subject": "pairwise"},
					"member": "alice", "patient": h.patient["alice"], "grant_id": rec.RequestID,
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			rec.Claims, rec.Request = nil, legacy
			if err := h.gw.Store.CreateToken(ctx, oauth.KindAccess, sig, rec); err != nil {
				t.Fatal(err)
			}
			path := "/Patient/" + h.patient["alice"]
			if code, _ := h.fhirGet(tok.AccessToken, path); code != 200 {
				t.Fatalf("read with a record without claims: %d, want 200", code)
			}
			if err := h.gw.Store.RevokeRequest(ctx, rec.RequestID); err != nil {
				t.Fatal(err)
			}
			if code, _ := h.fhirGet(tok.AccessToken, path); code != 401 {
				t.Fatalf("read after revocation: %d, want 401", code)
			}
		})
	}
}
