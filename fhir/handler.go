package fhir

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
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
	// Types are the resource types served, in CapabilityStatement order;
	// nil serves every type of the catalog.
	Types []*catalog.Type
	// CursorKey signs the cursors of next links; every replica must share
	// it. Empty: a random key per process.
	CursorKey []byte
	// Sensitive are the security labels of records withheld unless the
	// member chose to share them (access.Constraint.Withheld).
	Sensitive access.Labels
	// ClientIP returns the address a request came from, for the audit
	// event; nil uses the host of RemoteAddr.
	ClientIP func(*http.Request) string

	once   sync.Once
	served access.Types
	key    []byte
	// fullURL is fullURLPrefix's answer, encoded once.
	fullURLOnce sync.Once
	fullURL     string
	// late is Tokens as a LateChecker when the Source is a LocalSource
	// (the token's liveness is then confirmed with the call's record).
	late LateChecker
}

// Mount registers the FHIR routes. It does not register OPTIONS (the CORS
// middleware answers preflights) nor /fhir/.well-known/smart-configuration
// (the authorization server serves it; ServeMux prefers that literal path).
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /fhir/metadata", h.serveMetadata)
	mux.HandleFunc("GET /fhir/{type}/{id}", h.serveRead)
	mux.HandleFunc("GET /fhir/Patient/{id}/$everything", h.serveEverything)
	mux.HandleFunc("GET /fhir/{type}", h.serveSearch)
	mux.HandleFunc("POST /fhir/{type}/_search", h.serveSearch)
	mux.HandleFunc("/fhir/", serveUnsupported)
}

// init fills in the served types and the cursor key once.
func (h *Handler) init() {
	h.once.Do(func() {
		types := h.Types
		if types == nil {
			types = catalog.All()
		}
		h.served = access.Types{}
		for _, t := range types {
			h.served[t.Name] = t
		}
		h.key = h.CursorKey
		if len(h.key) == 0 {
			h.key = make([]byte, 32)
			_, _ = rand.Read(h.key)
		}
		if late, ok := h.Tokens.(LateChecker); ok {
			if _, local := h.Source.(LocalSource); local {
				h.late = late
			}
		}
	})
}

// served types in order, for the CapabilityStatement.
func (h *Handler) types() []*catalog.Type {
	h.init()
	if h.Types != nil {
		return h.Types
	}
	return catalog.All()
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

func (h *Handler) clientIP(r *http.Request) string {
	if h.ClientIP != nil {
		return h.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

// authenticate checks the bearer token (RFC 6750 section 3) and answers
// the request itself when it does not pass. With a LateChecker that knows
// the token it only peeks: pending is then the token, whose liveness the
// call's record must confirm (call.settle) before anything is answered.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (a Access, pending string, ok bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhir"`)
		writeOutcome(w, http.StatusUnauthorized, "login", "a bearer token is required")
		return Access{}, "", false
	}
	token = strings.TrimSpace(token)
	if h.late != nil && token != "" {
		if a, ok := h.late.PeekToken(token); ok {
			return a, token, true
		}
	}
	a, err := h.checkToken(r.Context(), token)
	switch {
	case errors.Is(err, ErrInvalidToken):
		writeInvalidToken(w)
		return Access{}, "", false
	case errors.Is(err, ErrUnavailable):
		h.logger().WarnContext(r.Context(), "fhir: token check unavailable, answered 503", "err", err)
		writeUnavailable(w, tokenUnavailable)
		return Access{}, "", false
	case err != nil:
		h.logger().ErrorContext(r.Context(), "fhir: token check failed", "err", err)
		writeOutcome(w, http.StatusInternalServerError, "exception", "")
		return Access{}, "", false
	}
	return a, "", true
}

// tokenUnavailable is the diagnostics of a 503 for a token that could not
// be checked.
const tokenUnavailable = "the service cannot check the access token right now; retry later"

// writeInvalidToken answers a token that is not (or no longer) valid.
func writeInvalidToken(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="fhir", error="invalid_token"`)
	writeOutcome(w, http.StatusUnauthorized, "login", "the access token is invalid, expired or revoked")
}

// writeUnavailable answers 503 with Retry-After and a transient issue.
func writeUnavailable(w http.ResponseWriter, diagnostics string) {
	w.Header().Set("Retry-After", retryAfterSeconds)
	writeOutcome(w, http.StatusServiceUnavailable, "transient", diagnostics)
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
	typ   *catalog.Type // nil when the path names a type not served
	name  string        // the type named in the path
	token Access
	// pending is the bearer token while its liveness is yet to be
	// confirmed with the call's record (LateChecker); "" once checked.
	pending    string
	constraint access.Constraint
	event      Event
}

func (h *Handler) begin(w http.ResponseWriter, r *http.Request, action string) (*call, bool) {
	return h.beginType(w, r, action, r.PathValue("type"))
}

// beginType authenticates a request on the type name.
func (h *Handler) beginType(w http.ResponseWriter, r *http.Request, action, name string) (*call, bool) {
	h.init()
	a, pending, ok := h.authenticate(w, r)
	if !ok {
		return nil, false
	}
	c := &call{h: h, w: w, r: r, name: name, typ: h.served[name], token: a, pending: pending, event: Event{
		Action: action, Patient: a.Patient, ClientID: a.ClientID, Member: a.Member, ClientIP: h.clientIP(r),
	}}
	if c.typ != nil {
		// Only served types are recorded, so the audit trail never holds
		// arbitrary client-supplied text.
		c.event.ResourceTypes = []string{name}
	}
	return c, true
}

// decide applies the access decision and answers when it denies; when it
// allows, the call keeps the constraint every resource must pass.
func (c *call) decide(i smart.Interaction, query map[string][]string) bool {
	d := access.Decide(access.Request{
		Authenticated: true, Patient: c.token.Patient, Scopes: c.token.Scopes,
		Served: c.h.served, ResourceType: c.name, Interaction: i, Query: query,
		Sensitive: c.h.Sensitive, SensitiveAllowed: c.token.Sensitive,
	})
	if !d.Allowed {
		c.deny(d)
		return false
	}
	c.constraint = d.Constraint
	return true
}

// deny records a refusal and renders it.
func (c *call) deny(d access.Decision) {
	if !c.settle(string(d.Outcome), d.Reason, 0) {
		return
	}
	if d.Status == http.StatusForbidden {
		c.w.Header().Set("WWW-Authenticate", `Bearer realm="fhir", error="insufficient_scope"`)
	}
	writeOutcome(c.w, d.Status, string(d.Issue), d.Message)
}

// fail records a failure and answers it with an OperationOutcome (a 503
// with Retry-After).
func (c *call) fail(status int, code, diagnostics, reason string) {
	if !c.settle(outcomeFor(status), reason, 0) {
		return
	}
	if status == http.StatusServiceUnavailable {
		c.w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeOutcome(c.w, status, code, diagnostics)
}

// sourceFailed answers a Source error: the upstream's faults as 502, 503
// or 504, anything else as 500; never the error text itself, which may
// name another member.
func (c *call) sourceFailed(msg string, err error) {
	c.h.logger().ErrorContext(c.r.Context(), msg, "type", c.name, "err", err)
	status, text := sourceStatus(err)
	code := "exception"
	if status == http.StatusGatewayTimeout {
		code = "timeout"
	}
	c.fail(status, code, text, msg)
}

// upstreamFault refuses an answer the Source should never have given
// (a resource outside the constraint): nothing of it is sent.
func (c *call) upstreamFault(why error) {
	c.h.logger().WarnContext(c.r.Context(), "fhir: source returned a resource outside the request's constraint; answer withheld",
		"type", c.name, "why", why.Error())
	c.fail(http.StatusBadGateway, "exception", "The member data source gave an answer that could not be used.", "upstream fault: "+why.Error())
}

func (c *call) record(outcome, reason string, count int) error {
	c.event.Outcome, c.event.Reason, c.event.Count = outcome, reason, count
	if c.pending != "" {
		return c.h.late.CheckAndRecord(c.r.Context(), c.pending, c.event)
	}
	if c.h.Audit == nil {
		return nil
	}
	return c.h.Audit.RecordFHIR(c.r.Context(), c.event)
}

// settle records the call's audit event before its answer is written and
// reports whether the caller may write it. A disclosure (outcome
// "success") that cannot be recorded is answered 503 instead, so that
// nothing is disclosed without an audit record; a refusal is answered
// whether or not it could be recorded (it discloses nothing), and the
// failure is logged. A call whose token is pending is confirmed in the
// same step: a token no longer live is answered 401 (and that refusal
// recorded), a token that could not be checked 503, whatever the call
// would have answered.
func (c *call) settle(outcome, reason string, count int) bool {
	pending := c.pending != ""
	err := c.record(outcome, reason, count)
	switch {
	case err == nil:
		return true
	case pending && errors.Is(err, ErrInvalidToken):
		c.pending = ""
		writeInvalidToken(c.w)
		c.event.Count = 0
		if err := c.record("denied", "access token no longer valid", 0); err != nil {
			c.h.logger().ErrorContext(c.r.Context(), "fhir: audit event not recorded", "outcome", "denied", "err", err)
		}
		return false
	case pending:
		c.h.logger().WarnContext(c.r.Context(), "fhir: token check and audit record unavailable, answered 503", "type", c.name, "err", err)
		writeUnavailable(c.w, tokenUnavailable)
		return false
	case outcome == "success":
		c.h.logger().ErrorContext(c.r.Context(), "fhir: audit event not recorded, nothing served (503)", "type", c.name, "err", err)
		writeUnavailable(c.w, "the access could not be recorded in the audit trail, so nothing was served; retry later")
		return false
	}
	c.h.logger().ErrorContext(c.r.Context(), "fhir: audit event not recorded", "outcome", outcome, "err", err)
	return true
}

// disclosed records a successful access of count resources (reason saying
// what was withheld, if anything) before anything is written; it reports
// false, having answered otherwise (see settle), when the caller must not
// disclose.
func (c *call) disclosed(reason string, count int) bool {
	return c.settle("success", reason, count)
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
// constraint gets the same 404 as a missing one, so the ids of other
// members' resources are not revealed.
func (h *Handler) serveRead(w http.ResponseWriter, r *http.Request) {
	c, ok := h.begin(w, r, "fhir.read")
	if !ok || !c.decide(smart.Read, nil) {
		return
	}
	id := r.PathValue("id")
	if !catalog.ValidID(id) {
		c.deny(access.Missing())
		return
	}
	q := ReadQuery{Type: c.typ, ID: id, Constraint: c.constraint}
	var raw json.RawMessage
	var known *catalog.Facts // raw's facts, when the Source read them with it
	var err error
	if up, ok := h.Source.(*Upstream); ok {
		var read pooledRead
		read, err = up.readPooled(r.Context(), q)
		raw, known = read.raw, read.facts
		defer releaseBody(read.buf) // once the resource is written, or not
	} else {
		raw, err = h.Source.Read(r.Context(), q)
	}
	if errors.Is(err, ErrNotFound) {
		c.deny(access.Missing())
		return
	}
	if err != nil {
		c.sourceFailed("fhir: read from source failed", err)
		return
	}
	var facts catalog.Facts
	if known != nil {
		facts = *known
	} else if facts, err = h.inspect(raw); err != nil {
		c.sourceFailed("fhir: source answered a read with something that is not a resource", fmt.Errorf("%v: %w", err, ErrBadGateway))
		return
	}
	if facts.Type != c.typ.Name || facts.ID != id {
		err = errors.New("source answered a read with another resource")
	}
	if err == nil {
		err = c.constraint.Check(facts, restrictionMatcher(c.typ, raw))
	}
	if err != nil {
		d := access.Missing()
		d.Outcome, d.Reason = access.Denied, err.Error() // for the audit; the app sees a missing resource
		c.deny(d)
		return
	}
	if !c.disclosed("", 1) {
		return
	}
	setVersionHeaders(w.Header(), facts)
	writeResource(w, raw)
}

// inspect returns raw's facts: those its Source kept, if it is a
// FactsSource holding these very bytes, else catalog.Inspect's.
func (h *Handler) inspect(raw json.RawMessage) (catalog.Facts, error) {
	if fs, ok := h.Source.(FactsSource); ok {
		if f, ok := fs.Facts(raw); ok {
			return f, nil
		}
	}
	return catalog.Inspect(raw)
}

func writeResource(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// setVersionHeaders sets ETag from meta.versionId and Last-Modified from
// meta.lastUpdated (FHIR R4 http.html, "read").
func setVersionHeaders(hdr http.Header, f catalog.Facts) {
	if v := f.VersionID; v != "" && !strings.ContainsAny(v, "\"\\\r\n") {
		hdr.Set("ETag", `W/"`+v+`"`)
	}
	if t, err := time.Parse(time.RFC3339Nano, f.LastUpdated); err == nil {
		hdr.Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	}
}
