package fhir

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// This file seals a Source's opaque next-page cursor into the _page
// parameter of a next link, bound to the member, the app and the search it
// continues. An app can follow the link but cannot forge, alter or replay it
// for another member or another search: the Source then never sees a cursor
// the gateway did not hand out for exactly this request (an upstream's
// cursor may name a search the upstream keeps, such as HAPI's _getpages).

// sealCursor returns the _page value for inner, bound to bind.
func sealCursor(key []byte, bind, inner string) string {
	body := base64.RawURLEncoding.EncodeToString([]byte(inner))
	return body + "." + base64.RawURLEncoding.EncodeToString(cursorMAC(key, bind, body))
}

// openCursor checks a _page value against bind and returns the inner cursor.
func openCursor(key []byte, bind, token string) (string, bool) {
	body, mac, ok := strings.Cut(token, ".")
	if !ok {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, cursorMAC(key, bind, body)) {
		return "", false
	}
	inner, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", false
	}
	return string(inner), true
}

func cursorMAC(key []byte, bind, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(bind))
	m.Write([]byte{0})
	m.Write([]byte(body))
	return m.Sum(nil)[:16]
}
