package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// redactedKeys are attribute keys whose values never reach a log.
var redactedKeys = map[string]bool{
	"token": true, "access_token": true, "refresh_token": true, "id_token": true, "code": true,
	"code_verifier": true, "client_secret": true, "password": true, "authorization": true,
	"cookie": true, "set-cookie": true, "secret": true,
}

// redacting masks secret-bearing attributes, at any depth, and adds the
// request id from the context.
type redacting struct{ next slog.Handler }

// NewRedactingHandler wraps h so that no token, secret or password is logged.
func NewRedactingHandler(h slog.Handler) slog.Handler { return redacting{next: h} }

func (h redacting) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h redacting) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redact(a))
		return true
	})
	if id := RequestIDFrom(ctx); id != "" {
		out.AddAttrs(slog.String("request_id", id))
	}
	return h.next.Handle(ctx, out)
}

func (h redacting) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = redact(a)
	}
	return redacting{next: h.next.WithAttrs(clean)}
}

func (h redacting) WithGroup(name string) slog.Handler {
	return redacting{next: h.next.WithGroup(name)}
}

func redact(a slog.Attr) slog.Attr {
	if redactedKeys[strings.ToLower(a.Key)] {
		return slog.String(a.Key, "[redacted]")
	}
	if a.Value.Kind() == slog.KindGroup {
		g := a.Value.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = redact(ga)
		}
		return slog.Group(a.Key, clean...)
	}
	return a
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// AccessLog logs one line per request: method, path (never the query
// string: it carries codes and state), status, duration.
func AccessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method), slog.String("path", SafePath(r.URL.Path)),
			slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)))
	})
}

// SafePath is a request path fit for logs and traces: FHIR resource ids and
// grant ids, which point at a member, are replaced by placeholders.
func SafePath(p string) string {
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case seg[0] == "fhir" && len(seg) > 2:
		for i := 2; i < len(seg); i++ {
			if !strings.HasPrefix(seg[i], "_") && !strings.HasPrefix(seg[i], "$") {
				seg[i] = "{id}"
			}
		}
	case seg[0] == "account" && len(seg) > 2:
		seg[2] = "{grant}"
	}
	return "/" + strings.Join(seg, "/")
}
