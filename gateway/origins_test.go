package gateway

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/patientaccess/gateway/apps"
)

// countingRegistry is an app registry that counts how often it is listed.
type countingRegistry struct {
	mu      sync.Mutex
	list    []apps.App
	version int64
	lists   int
}

func (r *countingRegistry) AppsVersion(context.Context) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version, nil
}

func (r *countingRegistry) ListApps(context.Context) ([]apps.App, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lists++
	return append([]apps.App(nil), r.list...), nil
}

// set replaces app i, as a store's UpdateApp does, moving the version.
func (r *countingRegistry) set(i int, a apps.App) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list[i] = a
	r.version++
}

func registry(n int) *countingRegistry {
	r := &countingRegistry{}
	for i := range n {
		r.list = append(r.list, apps.App{ClientID: fmt.Sprint("app", i), Status: apps.StatusApproved,
			RedirectURIs: []string{fmt.Sprintf("https://app%d.example/cb", i)}})
	}
	return r
}

// TestOriginIndex: the CORS origin check reads the registry's version on
// every request and lists the apps only when it moved, whatever the size
// of the registry; a suspension is seen on the next request.
func TestOriginIndex(t *testing.T) {
	for _, n := range []int{1, 100, 10_000} {
		t.Run(fmt.Sprint(n, " apps"), func(t *testing.T) {
			r := registry(n)
			x := &originIndex{store: r}
			ctx := context.Background()
			last := fmt.Sprintf("https://app%d.example", n-1)
			for range 100 {
				if !x.allowed(ctx, last) || x.allowed(ctx, "https://evil.example") {
					t.Fatal("wrong answer")
				}
			}
			if r.lists != 1 {
				t.Fatalf("200 checks listed the registry %d times, want once", r.lists)
			}
			suspended := r.list[n-1]
			suspended.Status = apps.StatusSuspended
			r.set(n-1, suspended)
			if x.allowed(ctx, last) {
				t.Fatal("a suspended app's origin is still allowed")
			}
			if !x.allowed(ctx, "https://app0.example") && n > 1 {
				t.Fatal("another app's origin refused")
			}
			if r.lists != 2 {
				t.Fatalf("a change listed the registry %d times in all, want twice", r.lists)
			}
		})
	}
}

// BenchmarkOriginIndex: the cost of a CORS origin check with 10 and 10,000
// registered apps; it should not grow with the registry.
//
//	go test -run '^$' -bench BenchmarkOriginIndex ./gateway
func BenchmarkOriginIndex(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprint(n, "apps"), func(b *testing.B) {
			x := &originIndex{store: registry(n)}
			ctx := context.Background()
			for b.Loop() {
				x.allowed(ctx, "https://app5.example")
			}
		})
	}
}
