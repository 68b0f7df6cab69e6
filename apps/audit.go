package apps

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Event is one audit record: an OAuth decision or a FHIR access. It names
// who and what, never clinical content, tokens or secrets.
type Event struct {
	Time          time.Time `json:"time"`
	Action        string    `json:"action"`  // e.g. "authorize", "token", "fhir.read", "fhir.search", "grant.revoke", "app.suspend"
	Outcome       string    `json:"outcome"` // "success", "denied", "error"
	Member        string    `json:"member,omitempty"`
	Patient       string    `json:"patient,omitempty"`
	ClientID      string    `json:"client_id,omitempty"`
	ResourceTypes []string  `json:"resource_types,omitempty"`
	Count         int       `json:"count,omitempty"` // resources returned
	Reason        string    `json:"reason,omitempty"`
	RequestID     string    `json:"request_id,omitempty"` // the HTTP request id, for correlation with traces
	// Actor is who made an app change, as kind:id (apps.Actor.String):
	// "admin:jane", "token:admin-token", "policy:auto-approve".
	Actor string `json:"actor,omitempty"`
	// ClientIP is the network address an app's FHIR request came from. It
	// is kept for the member's own access history only: stores return it
	// from ListMemberEvents and never from ListEvents, the plan's trail.
	ClientIP string `json:"client_ip,omitempty"`
}

// Auditor receives audit events. The store persists them; Record must not
// block the request on anything but the store write.
type Auditor interface {
	Record(ctx context.Context, e Event) error
}

// Bounds of the fields of a stored Event. Some fields come from requests
// nobody has authenticated yet (the client_id of a refused token request),
// so each is cut to its bound before it is stored: one event is at most a
// few kilobytes, whatever a caller sends.
const (
	MaxEventField         = 128  // Action, Outcome, Member, Patient, ClientID, RequestID, ClientIP, Actor, each resource type (bytes)
	MaxEventReason        = 1024 // Reason (bytes; an admin's decision reason is at most 1000)
	MaxEventResourceTypes = 16   // entries of ResourceTypes
)

// DefaultAuditRetention is how long a store keeps audit events unless told
// otherwise: events older than this are dropped, however few there are,
// and none younger, however many.
const DefaultAuditRetention = 90 * 24 * time.Hour

// Bounded returns the event with every field cut to its bound (a cut field
// ends in "…") and control characters replaced, ready to store.
func (e Event) Bounded() Event {
	for _, f := range []*string{&e.Action, &e.Outcome, &e.Member, &e.Patient, &e.ClientID, &e.RequestID, &e.ClientIP, &e.Actor} {
		*f = bound(*f, MaxEventField)
	}
	e.Reason = bound(e.Reason, MaxEventReason)
	if len(e.ResourceTypes) > MaxEventResourceTypes {
		e.ResourceTypes = e.ResourceTypes[:MaxEventResourceTypes]
	}
	if e.ResourceTypes != nil {
		types := make([]string, len(e.ResourceTypes))
		for i, t := range e.ResourceTypes {
			types[i] = bound(t, MaxEventField)
		}
		e.ResourceTypes = types
	}
	return e
}

// bound replaces control characters and invalid UTF-8 in s with U+FFFD,
// then cuts it to at most max bytes on a rune boundary, marking a cut with
// "…".
func bound(s string, max int) string {
	const mark = "…"
	if len(s) <= max && printableASCII(s) { // every audit event's usual fields: nothing to replace or cut
		return s
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	if len(s) <= max {
		return s
	}
	cut := max - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// printableASCII reports whether s is only printable ASCII (no control
// character, nothing outside ASCII), which bound keeps as it is.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
