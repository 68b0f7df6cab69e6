package fhir

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/oauth/smart"
)

// Handler serves the FHIR API under /fhir.
type Handler struct {
	BaseURL string // absolute FHIR base, e.g. http://127.0.0.1:8080/fhir
	Tokens  TokenChecker
	Source  Source
	Audit   Auditor // may be nil
	OAuth   OAuthURIs
	Logger  *slog.Logger
	Now     func() time.Time
}

// Mount registers the FHIR routes. It does not register OPTIONS (the CORS
// middleware answers preflights) nor /fhir/.well-known/smart-configuration
// (the authorization server serves it; ServeMux prefers that literal path).
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /fhir/metadata", h.serveMetadata)
	mux.HandleFunc("GET /fhir/{type}/{id}", h.serveRead)
	mux.HandleFunc("GET /fhir/{type}", h.serveSearch)
	mux.HandleFunc("POST /fhir/{type}/_search", h.serveSearch)
	mux.HandleFunc("/fhir/", serveUnsupported)
}

// serveUnsupported answers, as an OperationOutcome, every path or method
// under /fhir/ the routes above do not serve: 405 for a method this
// read-only API does not offer, 404 for anything else.
func serveUnsupported(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeOutcome(w, http.StatusMethodNotAllowed, "not-supported", "This FHIR API is read-only: "+r.Method+" is not supported.")
		return
	}
	writeOutcome(w, http.StatusNotFound, "not-found", "No FHIR interaction is served at this path.")
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

// authenticate checks the bearer token (RFC 6750 section 3) and answers
// the request itself when it does not pass.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (Access, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhir"`)
		writeOutcome(w, http.StatusUnauthorized, "login", "a bearer token is required")
		return Access{}, false
	}
	a, err := h.checkToken(r.Context(), strings.TrimSpace(token))
	switch {
	case errors.Is(err, ErrInvalidToken):
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhir", error="invalid_token"`)
		writeOutcome(w, http.StatusUnauthorized, "login", "the access token is invalid, expired or revoked")
		return Access{}, false
	case err != nil:
		h.logger().ErrorContext(r.Context(), "fhir: token check failed", "err", err)
		writeOutcome(w, http.StatusInternalServerError, "exception", "")
		return Access{}, false
	}
	return a, true
}

func (h *Handler) checkToken(ctx context.Context, token string) (Access, error) {
	if token == "" {
		return Access{}, ErrInvalidToken
	}
	return h.Tokens.CheckToken(ctx, token)
}

// call is one authenticated request on its way to exactly one audit event.
type call struct {
	h     *Handler
	w     http.ResponseWriter
	r     *http.Request
	typ   string
	token Access
	event Event
}

func (h *Handler) begin(w http.ResponseWriter, r *http.Request, action string) (*call, bool) {
	a, ok := h.authenticate(w, r)
	if !ok {
		return nil, false
	}
	typ := r.PathValue("type")
	c := &call{h: h, w: w, r: r, typ: typ, token: a, event: Event{
		Action: action, Patient: a.Patient, ClientID: a.ClientID, Member: a.Member,
	}}
	if supported(typ) {
		// Only served types are recorded, so the audit trail never holds
		// arbitrary client-supplied text.
		c.event.ResourceTypes = []string{typ}
	}
	return c, true
}

// decide applies the access decision (before any fetch when res is nil)
// and answers when it denies.
func (c *call) decide(i smart.Interaction, res *access.Resource) bool {
	d := access.Decide(access.Request{
		Authenticated: true, Patient: c.token.Patient, Scopes: c.token.Scopes,
		ResourceType: c.typ, Supported: supported(c.typ), Interaction: i, Resource: res,
	})
	if !d.Allowed {
		c.deny(d)
	}
	return d.Allowed
}

// deny renders a refusal and records it.
func (c *call) deny(d access.Decision) {
	writeOutcome(c.w, d.Status, string(d.Issue), d.Message)
	c.finish(string(d.Outcome), d.Reason, 0)
}

// fail answers with an OperationOutcome and records the failure.
func (c *call) fail(status int, code, diagnostics, reason string) {
	writeOutcome(c.w, status, code, diagnostics)
	c.finish(outcomeFor(status), reason, 0)
}

// internal logs err and answers 500 with no detail.
func (c *call) internal(msg string, err error) {
	c.h.logger().ErrorContext(c.r.Context(), msg, "type", c.typ, "err", err)
	c.fail(http.StatusInternalServerError, "exception", "", msg)
}

func (c *call) finish(outcome, reason string, count int) {
	c.event.Outcome, c.event.Reason, c.event.Count = outcome, reason, count
	if c.h.Audit != nil {
		c.h.Audit.RecordFHIR(c.r.Context(), c.event)
	}
}

func outcomeFor(status int) string {
	switch {
	case status < 300:
		return "success"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "denied"
	case status == http.StatusNotFound:
		return "not-found"
	case status < 500:
		return "invalid"
	}
	return "error"
}

// serveRead answers GET /fhir/{type}/{id}. A resource outside the token's
// compartment gets the same 404 as a missing one, so the ids of other
// members' resources are not revealed.
func (h *Handler) serveRead(w http.ResponseWriter, r *http.Request) {
	c, ok := h.begin(w, r, "fhir.read")
	if !ok || !c.decide(smart.Read, nil) {
		return
	}
	raw, err := h.readSource(r.Context(), c.typ, r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		c.deny(access.Missing())
		return
	}
	if err != nil {
		c.internal("fhir: read from source failed", err)
		return
	}
	owner, fields := inspect(raw)
	if !c.decide(smart.Read, &owner) {
		return
	}
	setVersionHeaders(w.Header(), fields)
	writeResource(w, raw)
	c.finish("success", "", 1)
}

func (h *Handler) readSource(ctx context.Context, typ, id string) ([]byte, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	return h.Source.Read(ctx, typ, id)
}

func writeResource(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// setVersionHeaders sets ETag from meta.versionId and Last-Modified from
// meta.lastUpdated (FHIR R4 http.html, "read").
func setVersionHeaders(hdr http.Header, f compartmentFields) {
	if v := f.Meta.VersionID; v != "" && !strings.ContainsAny(v, "\"\\\r\n") {
		hdr.Set("ETag", `W/"`+v+`"`)
	}
	if t, err := time.Parse(time.RFC3339Nano, f.Meta.LastUpdated); err == nil {
		hdr.Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	}
}
