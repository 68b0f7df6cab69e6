package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/oauth"
)

// accessSignature is the part of an HMAC access token the store keys it by.
func accessSignature(token string) string {
	return token[strings.LastIndex(token, ".")+1:]
}

// TestTokenStoredWithoutClaimsStillReads: an access token stored before
// records carried the token check's compact claims (as an older gateway
// wrote it) still reads, and is still refused once revoked.
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
			rec.Claims = nil
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
