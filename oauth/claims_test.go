package oauth

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestClaimsRoundTrip: what the token check needs comes back from the
// compact encoding exactly, expiry to the millisecond.
func TestClaimsRoundTrip(t *testing.T) {
	exp := time.Date(2026, 12, 2, 23, 0, 0, 123_000_000, time.UTC)
	tests := []struct {
		name string
		c    claims
	}{
		{"typical", claims{GrantID: "0b7f1c3e-2d4a-4f5e-9a6b-7c8d9e0f1a2b", ClientID: "app-1", Member: "alice",
			Patient: "pat-alice", Scopes: []string{"launch/patient", "patient/Patient.rs", "offline_access"}, Sensitive: true, ExpiresAt: exp}},
		{"no scopes", claims{GrantID: "g", ClientID: "c", Member: "m", Patient: "p", ExpiresAt: exp}},
		{"issued, FHIR audience", claims{GrantID: "g", ClientID: "c", Member: "m", Patient: "p", ExpiresAt: exp,
			IssuedAt: exp.Add(-time.Hour), FHIRAudience: true}},
		{"empty strings and unicode", claims{Member: "oidc:ñandú", Scopes: []string{""}, ExpiresAt: exp}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeClaims(tt.c.encode())
			if err != nil {
				t.Fatal(err)
			}
			if !got.ExpiresAt.Equal(tt.c.ExpiresAt) || !got.IssuedAt.Equal(tt.c.IssuedAt) {
				t.Errorf("expiry %v, issued %v, want %v, %v", got.ExpiresAt, got.IssuedAt, tt.c.ExpiresAt, tt.c.IssuedAt)
			}
			got.ExpiresAt, got.IssuedAt = tt.c.ExpiresAt, tt.c.IssuedAt
			if !reflect.DeepEqual(got, tt.c) {
				t.Errorf("got %+v\nwant %+v", got, tt.c)
			}
		})
	}
}

// TestClaimsVersion1: claims written before version 2 (by an older
// replica) still decode, without an issue time or audience.
func TestClaimsVersion1(t *testing.T) {
	exp := time.UnixMilli(1_800_000_000_123)
	b := binary.AppendUvarint([]byte{claimsV1, 1}, uint64(exp.UnixMilli()))
	for _, s := range []string{"g", "c", "m", "p"} {
		b = appendString(b, s)
	}
	b = appendString(binary.AppendUvarint(b, 1), "patient/Patient.rs")
	got, err := decodeClaims(b)
	if err != nil {
		t.Fatal(err)
	}
	want := claims{GrantID: "g", ClientID: "c", Member: "m", Patient: "p", Scopes: []string{"patient/Patient.rs"},
		Sensitive: true, ExpiresAt: exp}
	if !got.ExpiresAt.Equal(exp) || !got.IssuedAt.IsZero() || got.FHIRAudience {
		t.Errorf("expiry %v issued %v audience %v", got.ExpiresAt, got.IssuedAt, got.FHIRAudience)
	}
	got.ExpiresAt = exp
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestClaimsRefused: bytes that are not version-1 or version-2 claims are refused, and
// another version is told apart (so the check falls back to the request
// projection rather than refusing a newer replica's token).
func TestClaimsRefused(t *testing.T) {
	good := claims{GrantID: "g", ClientID: "c", Member: "m", Patient: "p", Scopes: []string{"a", "b"}}.encode()
	tests := []struct {
		name    string
		b       []byte
		version bool
	}{
		{"empty", nil, false},
		{"version 4 (unknown)", append([]byte{0x04}, good[1:]...), true},
		{"truncated", good[:len(good)-1], false},
		{"trailing", append(append([]byte{}, good...), 0), false},
		{"huge length", []byte{claimsV1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, false},
		{"huge scope count", []byte{claimsV1, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x03}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeClaims(tt.b)
			if err == nil {
				t.Fatal("decoded")
			}
			if errors.Is(err, errClaimsVersion) != tt.version {
				t.Errorf("error %v: version error %v, want %v", err, !tt.version, tt.version)
			}
		})
	}
}

// TestClaimsOfOldRecord: a record stored before records had claims (or
// with claims of an unknown version) is checked from its request
// projection; corrupt claims are an error, not a fallback.
func TestClaimsOfOldRecord(t *testing.T) {
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	proj := []byte(`{"id":"g1","client_id":"app1","granted_scopes":["patient/Patient.rs"],` +
		`"session":{"oidc":{"expires_at":{"access_token":"` + exp.Format(time.RFC3339Nano) + `"}},` +
		`"member":"alice","patient":"pat-alice","sensitive":true}}`)
	want := claims{GrantID: "g1", ClientID: "app1", Member: "alice", Patient: "pat-alice",
		Scopes: []string{"patient/Patient.rs"}, Sensitive: true, ExpiresAt: exp}
	for _, chk := range [][]byte{nil, {0x09, 1, 2}} {
		got, err := claimsOf(TokenRecord{Request: proj, ExpiresAt: exp.Add(time.Hour), Claims: chk})
		if err != nil {
			t.Fatal(err)
		}
		if !got.ExpiresAt.Equal(exp) {
			t.Errorf("expiry %v, want %v", got.ExpiresAt, exp)
		}
		got.ExpiresAt = exp
		if !reflect.DeepEqual(got, want) {
			t.Errorf("claims %x: got %+v\nwant %+v", chk, got, want)
		}
	}
	if _, err := claimsOf(TokenRecord{Request: proj, Claims: []byte{claimsV1}}); err == nil {
		t.Error("corrupt version-1 claims were read")
	}
}

// FuzzDecodeClaims: no input makes the decoder panic or allocate without
// bound, and whatever it accepts encodes to bytes that decode the same.
func FuzzDecodeClaims(f *testing.F) {
	f.Add(claims{GrantID: "g", ClientID: "c", Member: "m", Patient: "p", Scopes: []string{"s"}, Sensitive: true}.encode())
	f.Add([]byte{claimsV1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeClaims(b)
		if err != nil {
			return
		}
		again, err := decodeClaims(c.encode())
		if err != nil {
			t.Fatalf("re-encoded claims do not decode: %v", err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Errorf("round trip: got %+v, want %+v", again, c)
		}
	})
}
