package console

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRoleMapping: the role comes from a string or an array claim; admin
// wins when both roles match; any other shape or value gives no role.
func TestRoleMapping(t *testing.T) {
	m := RoleMapping{Claim: "groups", Admin: []string{"gw-admin"}, Reviewer: []string{"gw-review"}}
	for claim, want := range map[string]Role{
		`"gw-admin"`:                         RoleAdmin,
		`["staff", "gw-review"]`:             RoleReviewer,
		`["gw-review", "gw-admin"]`:          RoleAdmin,
		`"gw-review"`:                        RoleReviewer,
		`["staff"]`:                          "",
		`"GW-ADMIN"`:                         "",
		`{"gw-admin": true}`:                 "",
		`[["gw-admin"]]`:                     "",
		`true`:                               "",
		`null`:                               "",
		`["gw-admin\n"]`:                     "",
		`"` + strings.Repeat("x", 300) + `"`: "",
	} {
		got, ok := m.role(map[string]json.RawMessage{"groups": json.RawMessage(claim)})
		if got != want || ok != (want != "") {
			t.Errorf("role(%s) = %q, %v; want %q", claim, got, ok, want)
		}
	}
	if _, ok := m.role(map[string]json.RawMessage{"roles": json.RawMessage(`"gw-admin"`)}); ok {
		t.Error("a role from another claim than the configured one")
	}
}

// TestSessionEncoding: what a session stores reads back, and nothing else
// reads as a person.
func TestSessionEncoding(t *testing.T) {
	p := Person{ID: "oidc:1a2b3c4d:248289761001", Role: RoleReviewer}
	if got, ok := decodeSession(encodeSession(p)); !ok || got != p {
		t.Fatalf("decode(encode(%+v)) = %+v, %v", p, got, ok)
	}
	for _, s := range []string{"", "alice", "root oidc:x", "admin ", " admin x"} {
		if _, ok := decodeSession(s); ok {
			t.Errorf("decodeSession(%q) reads as a person", s)
		}
	}
	if sessionID("v") == sessionID("w") || !strings.HasPrefix(sessionID("v"), "console-") {
		t.Error("session ids do not keep cookies apart")
	}
}

// FuzzReturnTo: wherever the sign-in is told to go back to, it stays in
// the console: a path under /console/, never another host.
func FuzzReturnTo(f *testing.F) {
	for _, s := range []string{"/console/apps/x?done=approve", "//evil.example/console/", "/console/\\evil", "https://evil.example/console/",
		"/console/\t/x", "/consolex", "/console/signin?return_to=/console/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := returnTo(s)
		if got != PathHome && (!strings.HasPrefix(got, "/console/") || strings.HasPrefix(got, "//") ||
			strings.ContainsAny(got, "\\\t\r\n") || strings.HasPrefix(got, PathSignIn)) {
			t.Fatalf("returnTo(%q) = %q", s, got)
		}
	})
}
