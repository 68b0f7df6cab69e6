package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// redactedKeys are attribute keys (lower-cased) whose values never reach a
// log: credentials, authorization codes and anything that carries them.
var redactedKeys = map[string]bool{
	"token": true, "access_token": true, "refresh_token": true, "id_token": true,
	"code": true, "code_verifier": true, "client_secret": true, "client_assertion": true,
	"password": true, "authorization": true, "cookie": true, "set-cookie": true,
	"secret": true, "admin_token": true,
}

// Redacted replaces a redacted attribute's value.
const Redacted = "[redacted]"

// redacting masks secret-bearing attributes, at any depth, and adds the
// request id from the context.
type redacting struct{ next slog.Handler }

// NewRedactingHandler wraps h so that no token, code, secret, password,
// cookie or authorization header is logged: attributes under those keys
// (case-insensitive, inside groups too, and entries of an http.Header or
// url.Values value) are masked. Each record gets request_id from its
// context when RequestID set one and the record has none.
func NewRedactingHandler(h slog.Handler) slog.Handler { return redacting{next: h} }

// Enabled implements slog.Handler.
func (h redacting) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h redacting) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	hasID := false
	r.Attrs(func(a slog.Attr) bool {
		hasID = hasID || a.Key == "request_id"
		out.AddAttrs(redact(a))
		return true
	})
	if id := RequestIDFrom(ctx); id != "" && !hasID {
		out.AddAttrs(slog.String("request_id", id))
	}
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h redacting) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = redact(a)
	}
	return redacting{next: h.next.WithAttrs(clean)}
}

// WithGroup implements slog.Handler.
func (h redacting) WithGroup(name string) slog.Handler {
	return redacting{next: h.next.WithGroup(name)}
}

func redact(a slog.Attr) slog.Attr {
	if redactedKeys[strings.ToLower(a.Key)] {
		return slog.String(a.Key, Redacted)
	}
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindGroup:
		g := a.Value.Group()
		clean := make([]slog.Attr, len(g))
		for i, ga := range g {
			clean[i] = redact(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case http.Header:
			return slog.Attr{Key: a.Key, Value: redactMulti(v)}
		case url.Values:
			return slog.Attr{Key: a.Key, Value: redactMulti(v)}
		}
	}
	return a
}

// redactMulti turns a header or form map into a group, masking what must
// not be logged.
func redactMulti(m map[string][]string) slog.Value {
	attrs := make([]slog.Attr, 0, len(m))
	for k, vs := range m {
		attrs = append(attrs, redact(slog.String(k, strings.Join(vs, ", "))))
	}
	return slog.GroupValue(attrs...)
}
