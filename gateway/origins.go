package gateway

import (
	"context"
	"sync"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/web"
)

// appsVersioner is a store that counts changes to its app registry, so
// that what is derived from the registry can be kept until it changes.
type appsVersioner interface {
	// AppsVersion returns a number that changes whenever an app is
	// created or changed.
	AppsVersion(ctx context.Context) (int64, error)
	ListApps(ctx context.Context) ([]apps.App, error)
}

// originIndex answers "is this the origin of an approved app?" with one
// map lookup. It keeps the origins of approved apps' redirect URIs and
// rebuilds them when the registry's version has moved, which it reads on
// every call: a suspension on any replica applies to the next request,
// and a request costs the same however many apps are registered.
type originIndex struct {
	store appsVersioner

	mu      sync.Mutex
	loaded  bool
	version int64
	origins map[string]bool
}

// allowed reports whether origin belongs to an approved app. A store
// failure refuses the origin.
func (x *originIndex) allowed(ctx context.Context, origin string) bool {
	v, err := x.store.AppsVersion(ctx)
	if err != nil {
		return false
	}
	x.mu.Lock()
	if x.loaded && x.version == v {
		ok := x.origins[origin]
		x.mu.Unlock()
		return ok
	}
	x.mu.Unlock()
	// The version is read before the list: a change between the two is
	// in the list and moves the version again, so the next call rebuilds.
	list, err := x.store.ListApps(ctx)
	if err != nil {
		return false
	}
	origins := approvedOrigins(list)
	x.mu.Lock()
	x.loaded, x.version, x.origins = true, v, origins
	x.mu.Unlock()
	return origins[origin]
}

// approvedOrigins are the origins of approved apps' redirect URIs.
func approvedOrigins(list []apps.App) map[string]bool {
	origins := map[string]bool{}
	for _, a := range list {
		if !a.Approved() {
			continue
		}
		for _, u := range a.RedirectURIs {
			if o, ok := web.OriginOf(u); ok {
				origins[o] = true
			}
		}
	}
	return origins
}
