package oauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// subjectKeyLabel separates the pairwise-subject key from every other use
// of the token secret.
const subjectKeyLabel = "patient-access-gateway pairwise subject v1"

// subjectKey derives the key of pairwise subjects from the token secret, so
// every replica computes the same subjects. Changing the token secret
// changes every subject apps see.
func subjectKey(tokenSecret []byte) []byte {
	mac := hmac.New(sha256.New, tokenSecret)
	mac.Write([]byte(subjectKeyLabel))
	return mac.Sum(nil)
}

// pairwiseSubject is the `sub` one app learns for one member (OpenID
// Connect Core §8.1, pairwise subject type): HMAC-SHA-256 over the app's
// client id (its sector: every app is a sector of its own, so two apps of
// one developer cannot correlate members either) and the member's stable
// key, base64url. It is opaque, the same across sign-ins and refreshes for
// one app, and different between apps. The member key is Session.Member.
func pairwiseSubject(key []byte, clientID, member string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(clientID))
	mac.Write([]byte{0}) // client ids are base64url: the separator is unambiguous
	mac.Write([]byte(member))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
