package admin

import (
	"net/http"
	"net/http/pprof"
)

// MountProfiling registers Go's profiler (net/http/pprof) under
// /admin/debug/pprof/, behind the admin bearer token like every admin
// route. The gateway mounts it only when the operator turns it on
// (GATEWAY_PPROF); with no admin token it is not mounted at all.
func (h *Handler) MountProfiling(mux *http.ServeMux) {
	if h.Token == "" {
		return
	}
	// pprof's index serves the named profiles from paths under
	// /debug/pprof/, so the admin prefix is taken off first.
	strip := func(f http.HandlerFunc) http.HandlerFunc {
		return http.StripPrefix("/admin", f).ServeHTTP
	}
	mux.Handle("GET /admin/debug/pprof/", h.guard(strip(pprof.Index)))
	mux.Handle("GET /admin/debug/pprof/cmdline", h.guard(pprof.Cmdline))
	mux.Handle("GET /admin/debug/pprof/profile", h.guard(pprof.Profile))
	mux.Handle("GET /admin/debug/pprof/symbol", h.guard(pprof.Symbol))
	mux.Handle("GET /admin/debug/pprof/trace", h.guard(pprof.Trace))
}
