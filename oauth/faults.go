package oauth

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
)

// RetryAfter is what a 503 tells the client to wait before it retries.
const RetryAfter = 5 * time.Second

// storeFaults collects the storage failures met while one request is
// served. fosite turns a storage error into whatever its flow makes of
// errors at that point: invalid_client for a client it could not load,
// request_unauthorized or an inactive token for a token it could not
// read, 200 for a revocation it could not look up. So the adapter records
// each failure here as it happens, and the endpoint writers answer 503
// when the request failed after one, whatever fosite concluded.
type storeFaults struct {
	mu    sync.Mutex
	first error
}

type faultsKey struct{}

// watchFaults returns a context in which storage failures are recorded,
// and the record. A context already watched keeps its record.
func watchFaults(ctx context.Context) (context.Context, *storeFaults) {
	if f, ok := ctx.Value(faultsKey{}).(*storeFaults); ok {
		return ctx, f
	}
	f := &storeFaults{}
	return context.WithValue(ctx, faultsKey{}, f), f
}

// err returns the first storage failure recorded, or nil.
func (f *storeFaults) err() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first
}

// noteFault records err in ctx's record if it is a storage failure: any
// error but the answers a store gives (not found, inactive, exists).
func noteFault(ctx context.Context, err error) {
	if err == nil || isNotFound(err) || errors.Is(err, ErrInactive) || errors.Is(err, ErrUsed) || errors.Is(err, apps.ErrAlreadyExists) {
		return
	}
	if f, ok := ctx.Value(faultsKey{}).(*storeFaults); ok {
		f.mu.Lock()
		if f.first == nil {
			f.first = err
		}
		f.mu.Unlock()
	}
}

// storeFailure returns the storage failure behind a failed request: one
// recorded while it was served, or one in err's chain.
func storeFailure(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	f, _ := ctx.Value(faultsKey{}).(*storeFaults)
	if first := f.err(); first != nil {
		return first
	}
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return nil
}

// watch records storage failures for the whole of every request h serves.
func watch(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, _ := watchFaults(r.Context())
		h(w, r.WithContext(ctx))
	}
}

// errUnavailable is the RFC 6749 error for a request that failed because
// the store could not be reached: temporarily_unavailable, status 503
// (RFC 6749 §4.1.2.1; RFC 7009 §2.2.1 for revocation).
var errUnavailable = fosite.ErrTemporarilyUnavailable.WithHint("The authorization server cannot reach its store right now. Retry after the time in Retry-After.")

// storeFailed answers a failed OAuth request, through fosite's writer,
// when a storage failure is behind it: 503 temporarily_unavailable with
// Retry-After when the store was unavailable, 500 server_error for any
// other failure, never the refusal fosite made of it. It logs the cause
// and reports whether it answered.
func (s *Server) storeFailed(ctx context.Context, w http.ResponseWriter, what string, err error) bool {
	cause := storeFailure(ctx, err)
	switch {
	case cause == nil:
		return false
	case errors.Is(cause, ErrUnavailable):
		s.deps.Logger.WarnContext(ctx, what+": store unavailable, answered 503", "err", cause)
		setRetryAfter(w)
		s.provider.WriteAccessError(ctx, w, nil, errUnavailable)
	default:
		s.deps.Logger.ErrorContext(ctx, what+": store failed", "err", cause)
		s.provider.WriteAccessError(ctx, w, nil, fosite.ErrServerError)
	}
	return true
}

// authorizeError is the error to send back from the authorization
// endpoint: temporarily_unavailable (RFC 6749 §4.1.2.1) when the store
// could not be reached, server_error when it failed otherwise, else err.
func authorizeError(ctx context.Context, err error) error {
	cause := storeFailure(ctx, err)
	switch {
	case cause == nil:
		return err
	case errors.Is(cause, ErrUnavailable):
		return errUnavailable
	}
	return fosite.ErrServerError
}

// failPage answers a member page whose store call failed: 503 with
// Retry-After when the store is unavailable, 500 otherwise; both logged,
// both the branded error page saying what could not be done (p) and what
// to do next.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, what string, err error, p ui.Problem) {
	if errors.Is(err, ErrUnavailable) {
		s.deps.Logger.WarnContext(r.Context(), what+": store unavailable, answered 503", "err", err)
		setRetryAfter(w)
		s.problem(w, r, http.StatusServiceUnavailable, p)
		return
	}
	s.deps.Logger.ErrorContext(r.Context(), what, "err", err)
	s.problem(w, r, http.StatusInternalServerError, p)
}

func setRetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
}

// faultTokens, faultAssertions and faultApps record every storage failure of the stores
// the fosite adapter uses in the request's storeFaults; each method passes
// the call through and notes its error.
type faultTokens struct{ TokenStore }

func (f faultTokens) CreateToken(ctx context.Context, kind TokenKind, sig string, rec TokenRecord) error {
	err := f.TokenStore.CreateToken(ctx, kind, sig, rec)
	noteFault(ctx, err)
	return err
}

func (f faultTokens) GetToken(ctx context.Context, kind TokenKind, sig string) (TokenRecord, error) {
	rec, err := f.TokenStore.GetToken(ctx, kind, sig)
	noteFault(ctx, err)
	return rec, err
}

func (f faultTokens) DeleteToken(ctx context.Context, kind TokenKind, sig string) error {
	err := f.TokenStore.DeleteToken(ctx, kind, sig)
	noteFault(ctx, err)
	return err
}

func (f faultTokens) DeactivateToken(ctx context.Context, kind TokenKind, sig string) (TokenRecord, error) {
	rec, err := f.TokenStore.DeactivateToken(ctx, kind, sig)
	noteFault(ctx, err)
	return rec, err
}

func (f faultTokens) RevokeRequest(ctx context.Context, requestID string, kinds ...TokenKind) error {
	err := f.TokenStore.RevokeRequest(ctx, requestID, kinds...)
	noteFault(ctx, err)
	return err
}

func (f faultTokens) UseToken(ctx context.Context, u TokenUse) (TokenRecord, error) {
	rec, err := f.TokenStore.UseToken(ctx, u)
	noteFault(ctx, err)
	return rec, err
}

type faultAssertions struct{ AssertionStore }

func (f faultAssertions) UseAssertion(ctx context.Context, id string, exp time.Time) error {
	err := f.AssertionStore.UseAssertion(ctx, id, exp)
	noteFault(ctx, err)
	return err
}

func (f faultAssertions) AssertionUsed(ctx context.Context, id string) (bool, error) {
	used, err := f.AssertionStore.AssertionUsed(ctx, id)
	noteFault(ctx, err)
	return used, err
}

type faultApps struct{ AppSource }

func (f faultApps) GetApp(ctx context.Context, clientID string) (apps.App, error) {
	a, err := f.AppSource.GetApp(ctx, clientID)
	noteFault(ctx, err)
	return a, err
}

func (f faultApps) GetGrant(ctx context.Context, id string) (apps.Grant, error) {
	g, err := f.AppSource.GetGrant(ctx, id)
	noteFault(ctx, err)
	return g, err
}

func (f faultApps) RevokeGrant(ctx context.Context, id string, at time.Time) error {
	err := f.AppSource.RevokeGrant(ctx, id, at)
	noteFault(ctx, err)
	return err
}
