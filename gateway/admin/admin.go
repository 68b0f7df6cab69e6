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
	mux.Handle("GET /admin/apps/{client_id}/checks", h.guard(h.checks))
	mux.Handle("POST /admin/apps/{client_id}/checks", h.guard(h.runChecks))
	mux.Handle("GET /admin/apps/{client_id}/history", h.guard(h.history))
	mux.Handle("POST /admin/apps/{client_id}/{action}", h.guard(h.decide))
	mux.Handle("GET /admin/criteria", h.guard(h.criteria))
	mux.Handle("GET /admin/report", h.guard(h.report))
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

// register registers an app on behalf of the admin token.
func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	var req RegisterRequest
	if !decode(w, r, &req, false) {
		return
	}
	reg := apps.Registration{
		Name: req.Name, Description: req.Description, Developer: req.Developer,
		ContactEmail: req.ContactEmail, ContactPhone: req.ContactPhone, RedirectURIs: req.RedirectURIs, Public: req.Public,
		Scopes: strings.Fields(req.Scope), PrivacyPolicyURL: req.PrivacyPolicyURL, TermsURL: req.TermsURL,
		WebsiteURL: req.WebsiteURL, LogoURI: req.LogoURI, Logo: req.Logo, WebhookURL: req.WebhookURL,
		JWKS: req.JWKS, JWKSURI: req.JWKSURI,
	}
	if req.Attestation != nil {
		reg.Attestation = *req.Attestation
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
	out, err := h.Registry.Register(r.Context(), reg, apps.TokenActor)
	if err != nil && !h.onlyNotAudited(r, err) {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, RegisterResponse{ClientID: out.App.ClientID, ClientSecret: out.Secret, App: ViewOf(out.App), Checks: out.Checks})
}

// filterOf reads the registry filter from the query: status, attestation,
// q (text), failed (any value: only apps whose checks failed).
func filterOf(r *http.Request) (apps.Filter, error) {
	q := r.URL.Query()
	f := apps.Filter{Status: apps.Status(q.Get("status")), Attestation: apps.AttestationStatus(q.Get("attestation")),
		Query: q.Get("q"), ChecksFailed: q.Get("failed") != ""}
	if f.Status != "" && !f.Status.Valid() {
		return f, fmt.Errorf("status must be pending, approved, denied, suspended or deleted, not %q", f.Status)
	}
	switch f.Attestation {
	case "", apps.AttestationNone, apps.AttestationAttested, apps.AttestationDeclined:
	default:
		return f, fmt.Errorf("attestation must be none, attested or declined, not %q", f.Attestation)
	}
	return f, nil
}

// list answers the apps the query selects, as JSON or (?format=csv) as a
// CSV file.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	f, err := filterOf(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	list, err := h.Registry.Search(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "", "json":
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="apps.csv"`)
		if err := WriteCSV(w, list); err != nil {
			h.logger().WarnContext(r.Context(), "admin: writing the apps CSV failed", "err", err)
		}
		return
	default:
		writeError(w, http.StatusBadRequest, "invalid_request", "format must be json or csv")
		return
	}
	views := make([]AppView, 0, len(list))
	for _, a := range list {
		views = append(views, ViewOf(a))
	}
	writeJSON(w, http.StatusOK, map[string][]AppView{"apps": views})
}

// get answers one app with its checks, history and usage.
func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.PathValue("client_id")
	app, err := h.Registry.Get(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := AppDetail{AppView: ViewOf(app)}
	if c, err := h.Registry.Checks(ctx, id); err == nil {
		d.Checks = &c
	} else if !errors.Is(err, apps.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	if d.History, err = h.Registry.History(ctx, id); err != nil {
		h.fail(w, r, err)
		return
	}
	if d.Usage, err = h.Registry.Usage(ctx, id); err != nil {
		h.fail(w, r, err)
		return
	}
	if pw, err := h.Store.GetPolicyWatch(ctx, id); err == nil {
		d.PolicyWatch = &pw
	} else if !errors.Is(err, apps.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (h *Handler) checks(w http.ResponseWriter, r *http.Request) {
	c, err := h.Registry.Checks(r.Context(), r.PathValue("client_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (h *Handler) runChecks(w http.ResponseWriter, r *http.Request) {
	c, err := h.Registry.RunChecks(r.Context(), r.PathValue("client_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.PathValue("client_id")
	if _, err := h.Registry.Get(ctx, id); err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.Registry.History(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]apps.HistoryEntry{"history": list})
}

// CriteriaView is the answer of GET /admin/criteria: the catalog and the
// attestation questions.
type CriteriaView struct {
	Version   string           `json:"version"`
	Criteria  []apps.Criterion `json:"criteria"`
	Questions []apps.Question  `json:"attestation_questions"`
}

func (h *Handler) criteria(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, CriteriaView{Version: apps.CriteriaVersion, Criteria: apps.Criteria(), Questions: apps.Questions()})
}

// ReportView is the answer of GET /admin/report: every decision made
// under one criteria version.
type ReportView struct {
	Version   string              `json:"criteria_version"`
	Decisions []apps.HistoryEntry `json:"decisions"`
}

// report lists every decision under ?version (default: the current one;
// "all" for every version).
func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	version := r.URL.Query().Get("version")
	switch version {
	case "":
		version = apps.CriteriaVersion
	case "all":
		version = ""
	}
	list, err := h.Registry.Report(r.Context(), version)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ReportView{Version: cmpOr(version, "all"), Decisions: list})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// actions maps the URL verbs of a decision to the registry's actions.
var actions = map[string]apps.Action{
	"approve":   apps.ActionApprove,
	"deny":      apps.ActionDeny,
	"suspend":   apps.ActionSuspend,
	"reinstate": apps.ActionReinstate,
}

// decide applies a decision on behalf of the admin token.
func (h *Handler) decide(w http.ResponseWriter, r *http.Request) {
	action, ok := actions[r.PathValue("action")]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "the action must be approve, deny, suspend or reinstate")
		return
	}
	var req DecideRequest
	if !decode(w, r, &req, true) {
		return
	}
	d := apps.DecisionRequest{Action: action, Actor: apps.TokenActor, Criteria: req.Criteria,
		Evidence: cmpOr(req.Evidence, req.Reason), Override: req.Override, Note: req.Note}
	app, err := h.Registry.Decide(r.Context(), r.PathValue("client_id"), d)
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
	case errors.Is(err, apps.ErrChecksFailed):
		writeError(w, http.StatusConflict, "checks_failed", "automated criteria failed: "+after(err, apps.ErrChecksFailed))
	case errors.Is(err, apps.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", after(err, apps.ErrConflict))
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
func describe(err error) string { return after(err, apps.ErrInvalid) }

// after returns the text of err after its sentinel's own text: what the
// caller needs to read.
func after(err, sentinel error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, sentinel.Error()+": "); ok {
		return rest
	}
	return msg
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
