package apps

import (
	"context"
	"time"
)

// Store persists apps, grants and audit events. Every backend in
// gateway/store implements it and passes the conformance suite in
// gateway/store/storetest.
type Store interface {
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

	// AppendEvent adds an audit event; events are never changed or removed.
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
