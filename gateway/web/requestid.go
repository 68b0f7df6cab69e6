package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"
)

type requestIDKey struct{}

// RequestID gives each request an id, echoed as X-Request-Id and put in the
// context for logs and audit events. A well-formed id from a trusted proxy
// (X-Request-Id, at most 64 of [A-Za-z0-9-]) is kept.
func RequestID(next http.Handler) http.Handler {
	return RequestIDDeadline(0, next)
}

// RequestIDDeadline is RequestID that also gives the request, when d > 0,
// a context deadline d from its start, so that no store or upstream call
// outlives it: a call still waiting then fails (and the handler answers
// 503 rather than hanging). One step copies the request once
// (r.WithContext), where two middlewares in a row copied it twice.
func RequestIDDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		ctx := r.Context()
		if d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, requestIDKey{}, id)))
	})
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// RequestIDFrom returns the request id in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
