package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// statusWriter remembers the status code a handler wrote.
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

// AccessLog logs one line per request: method, path, status, duration and
// request_id. The path has member ids replaced (SafePath) and never the
// query string: it carries authorization codes and state.
func AccessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http sends 200
		}
		attrs := make([]slog.Attr, 0, 5) // room for the request id: no second allocation
		attrs = append(attrs,
			slog.String("method", r.Method), slog.String("path", SafePath(r.URL.Path)),
			slog.Int("status", status), slog.Duration("duration", time.Since(start)))
		if id := RequestIDFrom(r.Context()); id != "" {
			attrs = append(attrs, slog.String("request_id", id))
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
	})
}

// SafePath is a request path fit for logs and traces: FHIR resource ids
// (/fhir/{type}/{id}, /_history/{vid}) and the app ids of a member's connected apps (/account/apps/{app}),
// which point at a member, are replaced by placeholders.
func SafePath(p string) string {
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case seg[0] == "fhir" && len(seg) > 2 && !strings.HasPrefix(seg[1], "."):
		// Type/id[/_history/vid | /Type | /$op]: ids sit at even places.
		for i := 2; i < len(seg); i += 2 {
			if !strings.HasPrefix(seg[i], "_") && !strings.HasPrefix(seg[i], "$") {
				seg[i] = "{id}"
			}
		}
	case seg[0] == "account" && len(seg) > 2:
		seg[2] = "{app}"
	}
	return "/" + strings.Join(seg, "/")
}
