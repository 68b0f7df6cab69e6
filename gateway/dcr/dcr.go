package dcr

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// Path is where the registration endpoint is served; an app's
// registration_client_uri is Path + "/" + its client id.
const Path = "/oauth/register"

// Registry is what the endpoint needs of the app registry (apps.Registry
// satisfies it).
type Registry interface {
	Register(ctx context.Context, reg apps.Registration, by apps.Actor) (apps.Registered, error)
	Update(ctx context.Context, clientID string, reg apps.Registration, by apps.Actor) (apps.App, error)
	Delete(ctx context.Context, clientID string, by apps.Actor) (apps.App, error)
	CheckRegistrationToken(ctx context.Context, clientID, token string) (apps.App, error)
}

// Limiter throttles events per key (the store's oauth.Limiter).
type Limiter interface {
	Allow(ctx context.Context, key string, l oauth.Limit) (time.Duration, error)
	Peek(ctx context.Context, key string, l oauth.Limit) (time.Duration, error)
}

// The default throttles: registrations per client IP address, and failed
// registration-token checks per client id.
var (
	DefaultRegisterLimit = oauth.Limit{Burst: 10, Every: 6 * time.Minute}
	DefaultTokenLimit    = oauth.Limit{Burst: 20, Every: 30 * time.Second}
)

// Handler serves dynamic client registration (RFC 7591) and management
// (RFC 7592). A registration lands pending and never yields a usable app
// by itself; it is answered with a registration access token (kept only
// as a hash) with which the developer reads, updates and deletes it.
type Handler struct {
	Registry Registry
	// BaseURL is the gateway's base URL, for registration_client_uri.
	BaseURL string
	Limiter Limiter
	// ThrottleKey keys the limiter (an HMAC key shared by every replica),
	// so that no client id or address appears in the store.
	ThrottleKey []byte
	// RegisterLimit and TokenLimit override the default throttles.
	RegisterLimit, TokenLimit oauth.Limit
	// ClientIP returns the address a request came from (the trusted-proxy
	// aware one); nil uses RemoteAddr.
	ClientIP func(*http.Request) string
	Logger   *slog.Logger // nil discards
	Now      func() time.Time
}

// Mount registers the endpoints on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST "+Path, h.register)
	mux.HandleFunc("GET "+Path+"/{client_id}", h.read)
	mux.HandleFunc("PUT "+Path+"/{client_id}", h.update)
	mux.HandleFunc("DELETE "+Path+"/{client_id}", h.remove)
}

// Response is the answer to a registration or a read (RFC 7591 §3.2.1,
// RFC 7592 §3): the registered metadata, the client id, the credentials
// issued now, and (an extension) the app's review status.
type Response struct {
	ClientID                string `json:"client_id"`
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri"`
	// Status is the plan's review status: pending until an admin (or the
	// auto-approve policy) approves the app.
	Status apps.Status `json:"status"`
	Metadata
}

func (h *Handler) response(a apps.App) Response {
	r := Response{ClientID: a.ClientID, ClientIDIssuedAt: a.CreatedAt.Unix(),
		RegistrationClientURI: strings.TrimRight(h.BaseURL, "/") + Path + "/" + a.ClientID, Status: a.Status, Metadata: metadataOf(a)}
	if a.AuthMethod() == apps.AuthClientSecret {
		never := int64(0)
		r.ClientSecretExpiresAt = &never
	}
	return r
}

// developer is the actor of a request made with a registration (before
// one exists, the new client id is not known: "dcr").
func developer(clientID string) apps.Actor {
	if clientID == "" {
		clientID = "dcr"
	}
	return apps.Actor{Kind: apps.ActorDeveloper, ID: "dcr:" + clientID, Name: "RFC 7591 registration"}
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if h.throttled(ctx, w, "register", h.clientIP(r), h.RegisterLimit, DefaultRegisterLimit, true) {
		return
	}
	body, ok := h.body(w, r)
	if !ok {
		return
	}
	reg, e := ParseMetadata(body)
	if e != nil {
		writeJSON(w, http.StatusBadRequest, e)
		return
	}
	out, err := h.Registry.Register(ctx, reg, developer(""))
	if err != nil && !errors.Is(err, apps.ErrNotAudited) {
		h.fail(w, r, err)
		return
	}
	if err != nil {
		h.logger().ErrorContext(ctx, "registration stored but not recorded", "err", err)
	}
	resp := h.response(out.App)
	resp.ClientSecret, resp.RegistrationAccessToken = out.Secret, out.RegistrationToken
	h.logger().InfoContext(ctx, "app registered through RFC 7591", "client_id", out.App.ClientID, "status", out.App.Status)
	writeJSON(w, http.StatusCreated, resp)
}

// authorized checks the registration access token of the app named in the
// path; on failure it has answered 401 (unknown apps included, RFC 7592
// §2) and counted the failure against the client id.
func (h *Handler) authorized(w http.ResponseWriter, r *http.Request) (apps.App, bool) {
	ctx, id := r.Context(), r.PathValue("client_id")
	if h.throttled(ctx, w, "regtoken", id, h.TokenLimit, DefaultTokenLimit, false) {
		return apps.App{}, false
	}
	token, _ := bearer(r)
	app, err := h.Registry.CheckRegistrationToken(ctx, id, token)
	if errors.Is(err, apps.ErrNotFound) {
		if _, err := h.Limiter.Allow(ctx, h.key("regtoken", id), or(h.TokenLimit, DefaultTokenLimit)); err != nil {
			h.logger().ErrorContext(ctx, "count a failed registration token", "err", err)
		}
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, &Error{Code: "invalid_token",
			Description: "the registration access token is missing or wrong, or the registration no longer exists"})
		return apps.App{}, false
	}
	if err != nil {
		h.fail(w, r, err)
		return apps.App{}, false
	}
	return app, true
}

func (h *Handler) read(w http.ResponseWriter, r *http.Request) {
	app, ok := h.authorized(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, h.response(app))
}

// update replaces the registration's metadata (RFC 7592 §2.2). The client
// id must match; the server-managed members must be absent; the client
// type cannot change. An approved app whose redirect URIs or keys change
// goes back to review (apps.Registry.Update).
func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	app, ok := h.authorized(w, r)
	if !ok {
		return
	}
	body, ok := h.body(w, r)
	if !ok {
		return
	}
	m, raw, e := decodeMetadata(body)
	if e == nil {
		e = checkUpdate(app, raw)
	}
	var reg apps.Registration
	if e == nil {
		reg, e = m.registration()
	}
	if e != nil {
		writeJSON(w, http.StatusBadRequest, e)
		return
	}
	reg.RegistrationToken = false
	updated, err := h.Registry.Update(r.Context(), app.ClientID, reg, developer(app.ClientID))
	if err != nil && !errors.Is(err, apps.ErrNotAudited) {
		if errors.Is(err, apps.ErrInvalid) {
			writeJSON(w, http.StatusBadRequest, metadataError("%s", describe(err)))
			return
		}
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.response(updated))
}

// checkUpdate checks the members RFC 7592 §2.2 rules on: client_id must be
// the app's; the server-managed members must be absent; a client_secret,
// if sent, must be the app's.
func checkUpdate(app apps.App, raw map[string]json.RawMessage) *Error {
	var id string
	if err := json.Unmarshal(raw["client_id"], &id); err != nil || id != app.ClientID {
		return metadataError("client_id must be sent and be this registration's client id")
	}
	for _, f := range serverManaged {
		if _, ok := raw[f]; ok {
			return metadataError("%s is the server's to set: leave it out of an update", f)
		}
	}
	if s, ok := raw["client_secret"]; ok {
		var secret string
		if json.Unmarshal(s, &secret) != nil || len(app.SecretHash) == 0 || !apps.SecretMatches(app.SecretHash, secret) {
			return metadataError("client_secret, when sent, must be the registration's current secret")
		}
	}
	return nil
}

func (h *Handler) remove(w http.ResponseWriter, r *http.Request) {
	app, ok := h.authorized(w, r)
	if !ok {
		return
	}
	if _, err := h.Registry.Delete(r.Context(), app.ClientID, developer(app.ClientID)); err != nil && !errors.Is(err, apps.ErrNotAudited) {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// body reads a JSON request body of at most maxBody bytes, or answers.
func (h *Handler) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
		writeJSON(w, http.StatusBadRequest, metadataError("send the client metadata as application/json"))
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, metadataError("the body is larger than %d KiB or unreadable", maxBody>>10))
		return nil, false
	}
	return b, true
}

// throttled answers 429 (or 503 when the limiter fails) for a key over its
// limit. take counts this request; otherwise it only looks.
func (h *Handler) throttled(ctx context.Context, w http.ResponseWriter, kind, name string, l, def oauth.Limit, take bool) bool {
	if h.Limiter == nil {
		return false
	}
	l = or(l, def)
	check := h.Limiter.Peek
	if take {
		check = h.Limiter.Allow
	}
	wait, err := check(ctx, h.key(kind, name), l)
	if err == nil && wait <= 0 {
		return false
	}
	if err != nil {
		h.logger().ErrorContext(ctx, "registration throttle failed", "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, &Error{Code: "temporarily_unavailable", Description: "the server cannot take registrations right now; retry later"})
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	writeJSON(w, http.StatusTooManyRequests, &Error{Code: "temporarily_unavailable", Description: "too many requests; retry after the time Retry-After gives"})
	return true
}

func or(l, def oauth.Limit) oauth.Limit {
	if l.Burst <= 0 || l.Every <= 0 {
		return def
	}
	return l
}

// key names whom an event counts against without revealing it.
func (h *Handler) key(kind, name string) string {
	m := hmac.New(sha256.New, h.ThrottleKey)
	m.Write([]byte(kind + "\x00" + name))
	return "dcr-" + kind + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

func (h *Handler) clientIP(r *http.Request) string {
	if h.ClientIP != nil {
		return h.ClientIP(r)
	}
	return r.RemoteAddr
}

// fail answers a registry failure: 503 when the store is unavailable,
// else 500 without detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, apps.ErrUnavailable) {
		h.logger().WarnContext(r.Context(), "registration: store unavailable", "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, &Error{Code: "temporarily_unavailable", Description: "the store cannot be reached right now; retry later"})
		return
	}
	h.logger().ErrorContext(r.Context(), "registration failed", "err", err)
	writeJSON(w, http.StatusInternalServerError, &Error{Code: "server_error", Description: "the request failed; the server log has the cause"})
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// bearer returns the token of an `Authorization: Bearer` header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// RefuseRequest answers, as an RFC 7591 error, a request the gateway
// refused before this package read it (a body too large). Its signature is
// gateway/web.BodyRule.Refuse.
func RefuseRequest(w http.ResponseWriter, _ *http.Request, status int, description string) {
	writeJSON(w, status, metadataError("%s", description))
}
