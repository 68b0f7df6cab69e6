package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth/smart"
)

// lastUsedScan bounds how many of a member's events with one app are read
// to find when it last got data.
const lastUsedScan = 200

// signedIn returns the signed-in member, or sends the browser to sign in
// and come back to this page (a GET page's own path), or, when the store
// failed, answers with the error page (what could not be done: p).
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, p ui.Problem) (Member, bool) {
	m, ok, err := s.CurrentMember(r)
	if err != nil {
		s.failPage(w, r, "member session", err, p)
		return Member{}, false
	}
	if !ok {
		back := PathAccount
		if r.Method == http.MethodGet {
			back = r.URL.Path
		}
		http.Redirect(w, r, PathLogin+"?return_to="+url.QueryEscape(back), http.StatusSeeOther)
	}
	return m, ok
}

// serveAccount lists the apps the signed-in member has given access that
// has not ended.
func (s *Server) serveAccount(w http.ResponseWriter, r *http.Request) {
	m, ok := s.signedIn(w, r, ui.ProblemLoadAppsFailed)
	if !ok {
		return
	}
	rows, err := s.connectedApps(r.Context(), m)
	if err != nil {
		s.failPage(w, r, "list grants", err, ui.ProblemLoadAppsFailed)
		return
	}
	v := ui.AppsView{CSRF: s.deps.CSRF.Token(w, r), Member: m.DisplayName, Apps: rows, IdleDays: s.idleDays()}
	if id := r.URL.Query().Get("revoked"); id != "" {
		if app, err := s.deps.Apps.GetApp(r.Context(), id); err == nil {
			v.Notice = ui.M(ui.MsgAppsRevoked, "app", app.Name)
		}
	}
	s.deps.UI.ConnectedApps(w, r, v)
}

// connectedApps is one row per app with a live grant, however many times
// the member allowed it: what it may read (the union of its live grants),
// when the member last allowed it, when it last got data and when access
// ends.
func (s *Server) connectedApps(ctx context.Context, m Member) ([]ui.ConnectedApp, error) {
	grants, err := s.deps.Apps.ListGrants(ctx, m.Username)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var rows []ui.ConnectedApp
	index := map[string]int{} // client id → row
	anyLive := map[string]bool{}
	validAfter := map[string]time.Time{}
	for _, g := range grants { // newest first
		if !g.Live(now) {
			continue
		}
		i, seen := index[g.ClientID]
		if !seen {
			row, cut, err := s.appRow(ctx, m.Username, g)
			if err != nil {
				return nil, err
			}
			i, index[g.ClientID], validAfter[g.ClientID] = len(rows), len(rows), cut
			rows = append(rows, row)
		}
		row := &rows[i]
		anyLive[g.ClientID] = anyLive[g.ClientID] || !g.CreatedAt.Before(validAfter[g.ClientID])
		row.Sensitive = row.Sensitive || g.Sensitive
		row.OneTime = row.OneTime && g.OneTime
		if g.ExpiresAt.IsZero() || (!row.Ends.IsZero() && g.ExpiresAt.After(row.Ends)) {
			row.Ends = g.ExpiresAt
		}
		for _, c := range s.grantCategories(g.Scopes) {
			if !slices.Contains(row.Categories, c) {
				row.Categories = append(row.Categories, c)
			}
		}
	}
	for i := range rows {
		slices.SortFunc(rows[i].Categories, func(a, b string) int {
			return slices.Index(s.categories(), a) - slices.Index(s.categories(), b)
		})
		if rows[i].Problem == nil && !anyLive[rows[i].ClientID] {
			rows[i].Problem = ui.M(ui.MsgAppsCutOff, "plan", s.deps.UI.Brand().PlanName)
		}
	}
	return rows, nil
}

// appRow starts a row from the app and the member's newest live grant;
// it returns the app's cut-off time too (grants before it were ended by a
// suspension).
func (s *Server) appRow(ctx context.Context, member string, g apps.Grant) (ui.ConnectedApp, time.Time, error) {
	app, err := s.deps.Apps.GetApp(ctx, g.ClientID)
	if err != nil && !errors.Is(err, apps.ErrNotFound) {
		return ui.ConnectedApp{}, time.Time{}, err
	}
	last, err := s.lastUsed(ctx, member, g.ClientID)
	if err != nil {
		return ui.ConnectedApp{}, time.Time{}, err
	}
	row := ui.ConnectedApp{ClientID: g.ClientID, Name: app.Name, Developer: app.Developer, Granted: g.CreatedAt,
		LastUsed: last, Ends: g.ExpiresAt, OneTime: true}
	if row.Name == "" {
		row.Name = g.ClientID
	}
	if !app.Approved() {
		row.Problem = ui.M(ui.MsgAppsCutOff, "plan", s.deps.UI.Brand().PlanName)
	}
	return row, app.TokensValidAfter, nil
}

// grantCategories are the data categories a grant's scopes reach.
func (s *Server) grantCategories(scopes []string) []string {
	var out []string
	for _, raw := range scopes {
		sc, err := smart.Parse(raw)
		if err != nil || !sc.IsResource() {
			continue
		}
		for _, t := range s.deps.ResourceTypes {
			if (sc.ResourceType == "*" || sc.ResourceType == t.Name) && !slices.Contains(out, t.Category) {
				out = append(out, t.Category)
			}
		}
	}
	return out
}

// lastUsed is when the app last got the member's data (a successful FHIR
// access), or zero.
func (s *Server) lastUsed(ctx context.Context, member, clientID string) (time.Time, error) {
	events, err := s.deps.Apps.ListMemberEvents(ctx, member, clientID, lastUsedScan)
	if err != nil {
		return time.Time{}, fmt.Errorf("member history: %w", err)
	}
	for _, e := range events {
		if isDisclosure(e) {
			return e.Time, nil
		}
	}
	return time.Time{}, nil
}

// isDisclosure reports whether an event is an app getting the member's
// data: a FHIR access that succeeded.
func isDisclosure(e apps.Event) bool {
	return strings.HasPrefix(e.Action, "fhir.") && e.Outcome == "success"
}

// liveGrants are the member's grants to the app that still allow access.
func (s *Server) liveGrants(ctx context.Context, member, clientID string) ([]apps.Grant, error) {
	grants, err := s.deps.Apps.ListGrants(ctx, member)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	now := s.now()
	return slices.DeleteFunc(grants, func(g apps.Grant) bool { return g.ClientID != clientID || !g.Live(now) }), nil
}

// serveRevokeConfirm asks the member to confirm ending an app's access,
// saying that what it already got cannot be called back. It needs no
// script: the confirmation is a page of its own.
func (s *Server) serveRevokeConfirm(w http.ResponseWriter, r *http.Request) {
	m, ok := s.signedIn(w, r, ui.ProblemLoadAppsFailed)
	if !ok {
		return
	}
	clientID := r.PathValue("client")
	live, err := s.liveGrants(r.Context(), m.Username, clientID)
	if err != nil {
		s.failPage(w, r, "revoke: list grants", err, ui.ProblemLoadAppsFailed)
		return
	}
	if len(live) == 0 {
		s.problem(w, r, http.StatusNotFound, ui.ProblemNotConnected)
		return
	}
	s.deps.UI.RevokeConfirm(w, r, ui.RevokeView{CSRF: s.deps.CSRF.Token(w, r), ClientID: clientID, App: s.appName(r.Context(), clientID)})
}

// appName is the app's registered name, or its client id if it is gone.
func (s *Server) appName(ctx context.Context, clientID string) string {
	if app, err := s.deps.Apps.GetApp(ctx, clientID); err == nil && app.Name != "" {
		return app.Name
	}
	return clientID
}

// serveRevokeApp ends every grant the signed-in member gave one app, and
// every token issued under them, then tells the app (RevocationNotifier).
func (s *Server) serveRevokeApp(w http.ResponseWriter, r *http.Request) {
	if err := s.deps.CSRF.Verify(r); err != nil {
		s.problem(w, r, http.StatusForbidden, ui.ProblemFormExpired)
		return
	}
	m, ok := s.signedIn(w, r, ui.ProblemRevokeFailed)
	if !ok {
		return
	}
	clientID := r.PathValue("client")
	n, err := s.RevokeApp(r.Context(), m, clientID)
	switch {
	case err != nil:
		s.failPage(w, r, "revoke app", err, ui.ProblemRevokeFailed)
	case n == 0:
		s.problem(w, r, http.StatusNotFound, ui.ProblemNotConnected)
	default:
		http.Redirect(w, r, PathAccount+"?revoked="+url.QueryEscape(clientID), http.StatusSeeOther)
	}
}

// RevokeApp ends every live grant the member gave the app and returns how
// many there were; the app is then told (RevocationNotifier), without the
// member waiting on it.
func (s *Server) RevokeApp(ctx context.Context, m Member, clientID string) (int, error) {
	live, err := s.liveGrants(ctx, m.Username, clientID)
	if err != nil {
		return 0, err
	}
	var ended []string
	for _, g := range live {
		if err := s.RevokeGrant(ctx, m.Username, g.ID); err != nil {
			return len(ended), err
		}
		ended = append(ended, g.ID)
	}
	if len(ended) > 0 && s.deps.Revoked != nil {
		s.deps.Revoked.GrantsRevoked(ctx, Revocation{ClientID: clientID, Patient: live[0].Patient, Grants: ended, At: s.now(),
			Subject: pairwiseSubject(s.subjectKey, clientID, m.Username)})
	}
	return len(ended), nil
}

// RevokeGrant ends a member's grant: the grant is marked revoked and every
// code, access and refresh token issued under it is removed. A grant of
// another member is reported as not found.
func (s *Server) RevokeGrant(ctx context.Context, member, grantID string) error {
	g, err := s.deps.Apps.GetGrant(ctx, grantID)
	if err != nil {
		return fmt.Errorf("load grant: %w", err)
	}
	if g.Member != member {
		return fmt.Errorf("grant of another member: %w", apps.ErrNotFound)
	}
	if err := s.store.revokeGrant(ctx, grantID); err != nil {
		return err
	}
	s.audit(ctx, apps.Event{Action: "grant.revoke", Outcome: "success", Member: member, Patient: g.Patient, ClientID: g.ClientID})
	return nil
}
