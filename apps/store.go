package apps

import (
	"context"
	"time"
)

// Store persists apps, grants, audit events and the review of apps. Every
// backend in gateway/store implements it and passes the conformance suite
// in gateway/store/storetest.
type Store interface {
	VettingStore

	// CreateApp stores a new app; ErrAlreadyExists if the client id is taken.
	CreateApp(ctx context.Context, a App) error
	// GetApp returns the app with that client id, or ErrNotFound.
	GetApp(ctx context.Context, clientID string) (App, error)
	// UpdateApp changes an app by compare-and-set: it reads the app, calls
	// change with it and stores what change returns, only if the app was
	// not changed meanwhile; otherwise it reads again and calls change
	// again (so change must have no side effects). It returns the stored
	// app; ErrNotFound if there is none; change's error, with nothing
	// stored, if change fails. change may not alter the client id.
	UpdateApp(ctx context.Context, clientID string, change func(App) (App, error)) (App, error)
	// ListApps returns every app, oldest registration first.
	ListApps(ctx context.Context) ([]App, error)
	// PutAppLogo stores an app's logo (a PNG), replacing any; it is kept
	// apart from the app so that reading the app stays small.
	PutAppLogo(ctx context.Context, clientID string, png []byte) error
	// GetAppLogo returns the app's logo, or ErrNotFound.
	GetAppLogo(ctx context.Context, clientID string) ([]byte, error)

	// CreateGrant stores a new grant; ErrAlreadyExists if the id is taken.
	CreateGrant(ctx context.Context, g Grant) error
	// GetGrant returns the grant with that id, or ErrNotFound.
	GetGrant(ctx context.Context, id string) (Grant, error)
	// ListGrants returns the member's grants, newest first, revoked ones included.
	ListGrants(ctx context.Context, member string) ([]Grant, error)
	// RevokeGrant marks the grant revoked at the given time; revoking a
	// revoked grant is not an error. ErrNotFound if there is none.
	RevokeGrant(ctx context.Context, id string, at time.Time) error

	// AppendEvent adds an audit event; events are never changed or removed
	// (but for oauth.TokenStore.WithdrawEvents, which takes back the record
	// of a FHIR call refused in the step that recorded it).
	// An event that names a member is also added to that member's history.
	AppendEvent(ctx context.Context, e Event) error
	// ListEvents returns up to limit events, newest first, without their
	// ClientIP (the plan's trail does not keep it).
	ListEvents(ctx context.Context, limit int) ([]Event, error)
	// ListMemberEvents returns up to limit of the member's events (of one
	// app when clientID is not empty), newest first, with their ClientIP:
	// the member's accounting of what apps read.
	ListMemberEvents(ctx context.Context, member, clientID string, limit int) ([]Event, error)
}

// VettingStore keeps what the plan's review of apps needs beside the apps
// themselves: the append-only history, the latest check results, the
// policy watch and the usage figures. Every backend in gateway/store
// implements it and passes the conformance suite.
type VettingStore interface {
	// AppendHistory adds an entry to its app's history; entries are never
	// changed or removed.
	AppendHistory(ctx context.Context, e HistoryEntry) error
	// ListHistory returns the app's history, oldest first; with an empty
	// clientID, every app's history, oldest first.
	ListHistory(ctx context.Context, clientID string) ([]HistoryEntry, error)
	// PutChecks stores the latest check results of an app, replacing any.
	PutChecks(ctx context.Context, c Checks) error
	// GetChecks returns the latest check results of an app, or ErrNotFound.
	GetChecks(ctx context.Context, clientID string) (Checks, error)
	// PutPolicyWatch stores what the policy watch last saw of an app's
	// pages, replacing any.
	PutPolicyWatch(ctx context.Context, w PolicyWatch) error
	// GetPolicyWatch returns what the policy watch last saw of an app's
	// pages, or ErrNotFound.
	GetPolicyWatch(ctx context.Context, clientID string) (PolicyWatch, error)
	// NoteAppCall records that the app called the API at the given time;
	// an earlier time than the one stored changes nothing.
	NoteAppCall(ctx context.Context, clientID string, at time.Time) error
	// AppUsage returns how many members hold a live grant for the app at
	// now, and when it last called the API (zero if never noted).
	AppUsage(ctx context.Context, clientID string, now time.Time) (Usage, error)
}

// Usage is how much an app is used.
type Usage struct {
	// LiveMembers counts the members with a live grant (not revoked, not
	// expired) for the app.
	LiveMembers int `json:"live_members"`
	// LastCall is when the app last called the FHIR API (zero: never).
	LastCall time.Time `json:"last_call,omitzero"`
}

// PolicyWatch is what the policy watch last saw of an app's privacy
// policy and terms.
type PolicyWatch struct {
	ClientID  string        `json:"client_id"`
	CheckedAt time.Time     `json:"checked_at"`
	Pages     []WatchedPage `json:"pages"`
}

// WatchedPage is one watched address: the SHA-256 of what it served last.
type WatchedPage struct {
	// Kind is "privacy_policy" or "terms".
	Kind string `json:"kind"`
	URL  string `json:"url"`
	// Hash is the hex SHA-256 of the body last fetched; empty until a fetch
	// succeeds.
	Hash      string    `json:"hash,omitempty"`
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	// ChangedAt is when a fetch first saw the current Hash differ from the
	// one before (zero: never changed since watched).
	ChangedAt time.Time `json:"changed_at,omitzero"`
	// LastError is why the latest fetch failed; empty if it succeeded.
	LastError string `json:"last_error,omitempty"`
}

// Page returns the watched page of that kind.
func (w PolicyWatch) Page(kind string) (WatchedPage, bool) {
	for _, p := range w.Pages {
		if p.Kind == kind {
			return p, true
		}
	}
	return WatchedPage{}, false
}
