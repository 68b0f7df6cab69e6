package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/webhook"
	"github.com/patientaccess/gateway/oauth/smart"
)

// MaxBodyBytes is the largest request body the admin API reads.
const MaxBodyBytes = 64 << 10

// Limits of the audit log listing.
const (
	defaultLimit = 100  // audit events when ?limit is absent
	maxLimit     = 1000 // audit events at most
)

const offDescription = "the admin API is off: set GATEWAY_ADMIN_TOKEN"

// Handler serves the admin API under /admin/. Every route needs
// `Authorization: Bearer <Token>`; an empty Token turns the API off.
type Handler struct {
	Registry *apps.Registry
	Store    apps.Store // for the audit log
	// Webhooks lists revocation notices (GET /admin/webhooks); nil
	// answers an empty list.
	Webhooks webhook.Store
	Token    string
	Logger   *slog.Logger // nil discards
}

// Mount registers the admin routes on mux, all under "/admin/".
func (h *Handler) Mount(mux *http.ServeMux) {
	if h.Token == "" {
		mux.HandleFunc("/admin/", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			writeError(w, http.StatusNotFound, "not_found", offDescription)
		})
		return
	}
	mux.Handle("POST /admin/apps", h.guard(h.register))
	mux.Handle("GET /admin/apps", h.guard(h.list))
	mux.Handle("GET /admin/apps/{client_id}", h.guard(h.get))
	mux.Handle("POST /admin/apps/{client_id}/{action}", h.guard(h.decide))
	mux.Handle("GET /admin/audit", h.guard(h.audit))
	mux.Handle("GET /admin/webhooks", h.guard(h.webhooks))
	mux.Handle("/admin/", h.guard(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such admin route")
	}))
}

// guard checks the bearer token before next runs. It compares SHA-256
// digests in constant time, so neither the token's content nor its length
// leaks through timing.
func (h *Handler) guard(next http.HandlerFunc) http.Handler {
	want := sha256.Sum256([]byte(h.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		token, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
			writeError(w, http.StatusUnauthorized, "invalid_token", "an admin bearer token is required")
			return
		}
		got := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="admin", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid_token", "the admin bearer token is wrong")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next(w, r)
	})
}

// bearer returns the token of an `Authorization: Bearer` header (RFC 6750
// §2.1; the scheme is case-insensitive).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	var req RegisterRequest
	if !decode(w, r, &req, false) {
		return
	}
	reg := apps.Registration{
		Name: req.Name, Developer: req.Developer, RedirectURIs: req.RedirectURIs, Public: req.Public,
		Scopes: strings.Fields(req.Scope), PrivacyPolicyURL: req.PrivacyPolicyURL, TermsURL: req.TermsURL,
		WebsiteURL: req.WebsiteURL, Logo: req.Logo, WebhookURL: req.WebhookURL,
		Attestation: apps.Attestation(req.Attestation), JWKS: req.JWKS, JWKSURI: req.JWKSURI,
	}
	if _, err := smart.ParseList(req.Scope); err != nil {
		// Report the scope together with every other problem.
		msg := "scope: " + err.Error()
		if verr := reg.Validate(); verr != nil {
			msg = describe(verr) + "; " + msg
		}
		writeError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	app, secret, err := h.Registry.Register(r.Context(), reg)
	if err != nil && !h.onlyNotAudited(r, err) {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, RegisterResponse{ClientID: app.ClientID, ClientSecret: secret, App: ViewOf(app)})
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	list, err := h.Registry.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	views := make([]AppView, 0, len(list))
	for _, a := range list {
		views = append(views, ViewOf(a))
	}
	writeJSON(w, http.StatusOK, map[string][]AppView{"apps": views})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	app, err := h.Registry.Get(r.Context(), r.PathValue("client_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ViewOf(app))
}

// actions maps the URL verbs of a decision to the status they set.
var actions = map[string]apps.Status{
	"approve": apps.StatusApproved,
	"deny":    apps.StatusDenied,
	"suspend": apps.StatusSuspended,
}

func (h *Handler) decide(w http.ResponseWriter, r *http.Request) {
	to, ok := actions[r.PathValue("action")]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "the action must be approve, deny or suspend")
		return
	}
	var req DecideRequest
	if !decode(w, r, &req, true) {
		return
	}
	app, err := h.Registry.Decide(r.Context(), r.PathValue("client_id"), to, req.Reason)
	if err != nil && !h.onlyNotAudited(r, err) {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ViewOf(app))
}

// limit reads ?limit (1 to maxLimit, default defaultLimit), or answers 400.
func limit(w http.ResponseWriter, r *http.Request) (int, bool) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return defaultLimit, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("limit must be a whole number from 1 to %d", maxLimit))
		return 0, false
	}
	return n, true
}

// webhooks lists revocation notices, newest first, of one app with
// ?client_id: where each went, its attempts and how the last went.
func (h *Handler) webhooks(w http.ResponseWriter, r *http.Request) {
	limit, ok := limit(w, r)
	if !ok {
		return
	}
	views := []DeliveryView{}
	if h.Webhooks != nil {
		list, err := h.Webhooks.ListDeliveries(r.Context(), r.URL.Query().Get("client_id"), limit)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, d := range list {
			views = append(views, DeliveryViewOf(d))
		}
	}
	writeJSON(w, http.StatusOK, map[string][]DeliveryView{"deliveries": views})
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	limit, ok := limit(w, r)
	if !ok {
		return
	}
	events, err := h.Store.ListEvents(r.Context(), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if events == nil {
		events = []apps.Event{}
	}
	writeJSON(w, http.StatusOK, map[string][]apps.Event{"events": events})
}

// onlyNotAudited reports whether err only says the change was stored but
// not audited; it logs that, since the change itself succeeded.
func (h *Handler) onlyNotAudited(r *http.Request, err error) bool {
	if !errors.Is(err, apps.ErrNotAudited) {
		return false
	}
	h.logger().ErrorContext(r.Context(), "admin change stored but not audited", "err", err)
	return true
}

// fail answers err: the registry's sentinel errors map to 400, 404, 409
// and (store unavailable) 503 with a safe description; anything else is
// logged and answered 500 without detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, apps.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid_request", describe(err))
	case errors.Is(err, apps.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no app has that client id")
	case errors.Is(err, apps.ErrAlreadyExists):
		writeError(w, http.StatusConflict, "conflict", "an app with that client id already exists")
	case errors.Is(err, apps.ErrUnavailable):
		h.logger().WarnContext(r.Context(), "admin request: store unavailable, answered 503", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the store cannot be reached right now; retry later")
	default:
		h.logger().ErrorContext(r.Context(), "admin request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "the request failed; the server log has the cause")
	}
}

// describe returns a validation error's text without the sentinel prefix.
func describe(err error) string {
	return strings.TrimPrefix(err.Error(), apps.ErrInvalid.Error()+": ")
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
