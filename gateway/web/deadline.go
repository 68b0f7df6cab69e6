package web

import (
	"context"
	"net/http"
	"time"
)

// Deadline gives every request a context deadline d from its start, so
// that no store or upstream call outlives it: a call still waiting then
// fails (and the handler answers 503 rather than hanging). d <= 0 sets
// none.
func Deadline(d time.Duration, next http.Handler) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
