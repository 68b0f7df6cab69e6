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
//
// When the logger does not log at INFO (GATEWAY_LOG_LEVEL above it) the
// request goes straight to next: no line is written, so no status needs
// keeping and no path masking.
func AccessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !logger.Enabled(r.Context(), slog.LevelInfo) {
			next.ServeHTTP(w, r)
			return
		}
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
// which point at a member, are replaced by placeholders. It builds the
// masked path in one allocation, and returns a path with nothing to mask
// as it is.
func SafePath(p string) string {
	rest := strings.TrimPrefix(p, "/")
	first, tail, _ := strings.Cut(rest, "/")
	second, _, _ := strings.Cut(tail, "/")
	segments := strings.Count(rest, "/") + 1
	var mask func(i int, seg string) string // the placeholder for segment i, or ""
	switch {
	case first == "fhir" && segments > 2 && !strings.HasPrefix(second, "."):
		// Type/id[/_history/vid | /Type | /$op]: ids sit at even places.
		mask = func(i int, seg string) string {
			if i >= 2 && i%2 == 0 && !strings.HasPrefix(seg, "_") && !strings.HasPrefix(seg, "$") {
				return "{id}"
			}
			return ""
		}
	case first == "account" && segments > 2:
		mask = func(i int, _ string) string { return cond(i == 2, "{app}") }
	default:
		if len(p) > 0 && p[0] == '/' {
			return p
		}
		return "/" + rest
	}
	var b strings.Builder
	b.Grow(len(rest) + 1 + 5*(segments/2))
	i := 0
	for seg := range strings.SplitSeq(rest, "/") {
		b.WriteByte('/')
		if m := mask(i, seg); m != "" {
			b.WriteString(m)
		} else {
			b.WriteString(seg)
		}
		i++
	}
	return b.String()
}

// cond is s when ok, else "".
func cond(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}
