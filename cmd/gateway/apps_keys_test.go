package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/patientaccess/gateway/apps"
)

// jwksFile writes the public JWKS of a new RSA key of the given size.
func jwksFile(t *testing.T, bits int) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k1", Algorithm: "RS384", Use: "sig"}}})
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAppsRegisterWithKeys: `gateway apps register` registers a
// private_key_jwt app from a JWKS file or a jwks_uri (no secret is issued)
// and reports a weak key as the server explains it.
func TestAppsRegisterWithKeys(t *testing.T) {
	srv, store := newAdminServer(t)
	env := map[string]string{"GATEWAY_URL": srv.URL, "GATEWAY_ADMIN_TOKEN": adminToken}
	notJSON := filepath.Join(t.TempDir(), "keys.txt")
	_ = os.WriteFile(notJSON, []byte("not json"), 0o600)
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"jwks file", []string{"--jwks-file", jwksFile(t, 2048)}, 0, ""},
		{"jwks uri", []string{"--jwks-uri", "https://keys.example/jwks.json"}, 0, ""},
		{"weak key", []string{"--jwks-file", jwksFile(t, 1024)}, 1, "1024 bits"},
		{"not JSON", []string{"--jwks-file", notJSON}, 2, "does not hold JSON"},
		{"public with keys", []string{"--public", "--jwks-uri", "https://keys.example/jwks.json"}, 1, "public app has no keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"register", "--name", "Keyed", "--redirect-uri", "https://k.example/cb"}, tc.args...)
			r := runAppsWith(env, args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.inStderr) {
				t.Fatalf("register %v: %+v, want exit %d saying %q", tc.args, r, tc.code, tc.inStderr)
			}
			if tc.code != 0 {
				return
			}
			if strings.Contains(r.stdout, "client_secret") {
				t.Errorf("a private_key_jwt app was given a secret: %q", r.stdout)
			}
			a, err := store.GetApp(context.Background(), fieldAfter(r.stdout, "client_id"))
			if err != nil || a.AuthMethod() != apps.AuthPrivateKeyJWT || a.SecretHash != nil {
				t.Errorf("stored app %+v (%v), want private_key_jwt without a secret", a, err)
			}
		})
	}
}
