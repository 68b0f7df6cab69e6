package apps

import (
	"context"
	"time"
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
}

// Auditor receives audit events. The store persists them; Record must not
// block the request on anything but the store write.
type Auditor interface {
	Record(ctx context.Context, e Event) error
}
