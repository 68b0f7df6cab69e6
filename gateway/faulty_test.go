package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/oauth"
)

// faultyStore passes every call to a real store unless its rule, asked
// with the method's name (and, for tokens, the kind), returns an error to
// fail the call with. It stands in for a backend in trouble on any store.
type faultyStore struct {
	gateway.Store
	mu   sync.Mutex
	rule func(method string) error
}

// errInjected is the error a faultyStore fails with: the store unavailable.
var errInjected = fmt.Errorf("%w: errInjected fault", apps.ErrUnavailable)

func newFaulty(open func(t testing.TB) gateway.Store) (*faultyStore, func(t testing.TB) gateway.Store) {
	f := &faultyStore{}
	return f, func(t testing.TB) gateway.Store { f.Store = open(t); return f }
}

// setRule replaces the rule; nil passes every call.
func (f *faultyStore) setRule(rule func(method string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rule = rule
}

// down makes every call fail (true) or none (false).
func (f *faultyStore) down(on bool) {
	if !on {
		f.setRule(nil)
		return
	}
	f.setRule(func(string) error { return errInjected })
}

// errHang, returned by a rule, makes the call wait for its context to
// end, as a stalled backend does, and then fail unavailable.
var errHang = errors.New("hang")

func (f *faultyStore) check(ctx context.Context, method string) error {
	f.mu.Lock()
	rule := f.rule
	f.mu.Unlock()
	if rule == nil {
		return nil
	}
	err := rule(method)
	if err == errHang {
		<-ctx.Done()
		return fmt.Errorf("%w: %w", apps.ErrUnavailable, ctx.Err())
	}
	return err
}

func (f *faultyStore) CreateApp(ctx context.Context, a apps.App) error {
	if err := f.check(ctx, "CreateApp"); err != nil {
		return err
	}
	return f.Store.CreateApp(ctx, a)
}

func (f *faultyStore) GetApp(ctx context.Context, id string) (apps.App, error) {
	if err := f.check(ctx, "GetApp"); err != nil {
		return apps.App{}, err
	}
	return f.Store.GetApp(ctx, id)
}

func (f *faultyStore) UpdateApp(ctx context.Context, id string, change func(apps.App) (apps.App, error)) (apps.App, error) {
	if err := f.check(ctx, "UpdateApp"); err != nil {
		return apps.App{}, err
	}
	return f.Store.UpdateApp(ctx, id, change)
}

func (f *faultyStore) ListApps(ctx context.Context) ([]apps.App, error) {
	if err := f.check(ctx, "ListApps"); err != nil {
		return nil, err
	}
	return f.Store.ListApps(ctx)
}

func (f *faultyStore) CreateGrant(ctx context.Context, g apps.Grant) error {
	if err := f.check(ctx, "CreateGrant"); err != nil {
		return err
	}
	return f.Store.CreateGrant(ctx, g)
}

func (f *faultyStore) GetGrant(ctx context.Context, id string) (apps.Grant, error) {
	if err := f.check(ctx, "GetGrant"); err != nil {
		return apps.Grant{}, err
	}
	return f.Store.GetGrant(ctx, id)
}

func (f *faultyStore) ListGrants(ctx context.Context, member string) ([]apps.Grant, error) {
	if err := f.check(ctx, "ListGrants"); err != nil {
		return nil, err
	}
	return f.Store.ListGrants(ctx, member)
}

func (f *faultyStore) RevokeGrant(ctx context.Context, id string, at time.Time) error {
	if err := f.check(ctx, "RevokeGrant"); err != nil {
		return err
	}
	return f.Store.RevokeGrant(ctx, id, at)
}

func (f *faultyStore) AppendEvent(ctx context.Context, e apps.Event) error {
	if err := f.check(ctx, "AppendEvent"); err != nil {
		return err
	}
	return f.Store.AppendEvent(ctx, e)
}

func (f *faultyStore) ListEvents(ctx context.Context, limit int) ([]apps.Event, error) {
	if err := f.check(ctx, "ListEvents"); err != nil {
		return nil, err
	}
	return f.Store.ListEvents(ctx, limit)
}

func (f *faultyStore) CreateToken(ctx context.Context, kind oauth.TokenKind, sig string, rec oauth.TokenRecord) error {
	if err := f.check(ctx, "CreateToken "+string(kind)); err != nil {
		return err
	}
	return f.Store.CreateToken(ctx, kind, sig, rec)
}

func (f *faultyStore) GetToken(ctx context.Context, kind oauth.TokenKind, sig string) (oauth.TokenRecord, error) {
	if err := f.check(ctx, "GetToken "+string(kind)); err != nil {
		return oauth.TokenRecord{}, err
	}
	return f.Store.GetToken(ctx, kind, sig)
}

// CheckAccess reads a token, its app and its grant in one step: it fails
// when a rule fails any of the three reads.
func (f *faultyStore) CheckAccess(ctx context.Context, q oauth.AccessQuery) (oauth.AccessCheck, error) {
	for _, m := range []string{"GetToken " + string(oauth.KindAccess), "GetApp", "GetGrant"} {
		if err := f.check(ctx, m); err != nil {
			return oauth.AccessCheck{}, err
		}
	}
	return f.Store.CheckAccess(ctx, q)
}

// CheckAccessAppend is CheckAccess and AppendEvent in one step: it fails
// when a rule fails either.
func (f *faultyStore) CheckAccessAppend(ctx context.Context, q oauth.AccessQuery, events []apps.Event) (oauth.AccessCheck, oauth.EventRefs, error) {
	for _, m := range []string{"GetToken " + string(oauth.KindAccess), "GetApp", "GetGrant", "AppendEvent"} {
		if err := f.check(ctx, m); err != nil {
			return oauth.AccessCheck{}, nil, err
		}
	}
	return f.Store.CheckAccessAppend(ctx, q, events)
}

// CheckAccessGated is CheckAccess and the limiter's gate in one step: it
// fails when a rule fails any of the three reads or the limiter.
func (f *faultyStore) CheckAccessGated(ctx context.Context, q oauth.AccessQuery, g oauth.Gate) (oauth.AccessCheck, oauth.Gated, error) {
	for _, m := range []string{"GetToken " + string(oauth.KindAccess), "GetApp", "GetGrant", "Allow"} {
		if err := f.check(ctx, m); err != nil {
			return oauth.AccessCheck{}, oauth.Gated{}, err
		}
	}
	return f.Store.CheckAccessGated(ctx, q, g)
}

func (f *faultyStore) WithdrawEvents(ctx context.Context, refs oauth.EventRefs) error {
	if err := f.check(ctx, "WithdrawEvents"); err != nil {
		return err
	}
	return f.Store.WithdrawEvents(ctx, refs)
}

func (f *faultyStore) DeleteToken(ctx context.Context, kind oauth.TokenKind, sig string) error {
	if err := f.check(ctx, "DeleteToken "+string(kind)); err != nil {
		return err
	}
	return f.Store.DeleteToken(ctx, kind, sig)
}

func (f *faultyStore) DeactivateToken(ctx context.Context, kind oauth.TokenKind, sig string) (oauth.TokenRecord, error) {
	if err := f.check(ctx, "DeactivateToken "+string(kind)); err != nil {
		return oauth.TokenRecord{}, err
	}
	return f.Store.DeactivateToken(ctx, kind, sig)
}

func (f *faultyStore) UseToken(ctx context.Context, u oauth.TokenUse) (oauth.TokenRecord, error) {
	if err := f.check(ctx, "UseToken"); err != nil {
		return oauth.TokenRecord{}, err
	}
	return f.Store.UseToken(ctx, u)
}

func (f *faultyStore) RevokeRequest(ctx context.Context, requestID string, kinds ...oauth.TokenKind) error {
	if err := f.check(ctx, "RevokeRequest"); err != nil {
		return err
	}
	return f.Store.RevokeRequest(ctx, requestID, kinds...)
}

func (f *faultyStore) PutMember(ctx context.Context, m oauth.Member) error {
	if err := f.check(ctx, "PutMember"); err != nil {
		return err
	}
	return f.Store.PutMember(ctx, m)
}

func (f *faultyStore) GetMember(ctx context.Context, username string) (oauth.Member, error) {
	if err := f.check(ctx, "GetMember"); err != nil {
		return oauth.Member{}, err
	}
	return f.Store.GetMember(ctx, username)
}

func (f *faultyStore) PutSession(ctx context.Context, s oauth.LoginSession) error {
	if err := f.check(ctx, "PutSession"); err != nil {
		return err
	}
	return f.Store.PutSession(ctx, s)
}

func (f *faultyStore) GetSession(ctx context.Context, id string) (oauth.LoginSession, error) {
	if err := f.check(ctx, "GetSession"); err != nil {
		return oauth.LoginSession{}, err
	}
	return f.Store.GetSession(ctx, id)
}

func (f *faultyStore) DeleteSession(ctx context.Context, id string) error {
	if err := f.check(ctx, "DeleteSession"); err != nil {
		return err
	}
	return f.Store.DeleteSession(ctx, id)
}
