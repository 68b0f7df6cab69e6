package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// connectedApp is one row of the member's connected-apps page: one app,
// however many times the member allowed it.
type connectedApp struct {
	ClientID  string
	Name      string
	Developer string
	Status    string
	Since     string
	Access    []string

	validAfter time.Time // grants older than this were cut off by a suspension
	anyLive    bool      // some grant is newer than validAfter
}

type accountPage struct {
	CSRF   string
	Member string
	Apps   []connectedApp
	Notice string
}

// serveAccount lists the apps the signed-in member has granted access to.
func (s *Server) serveAccount(w http.ResponseWriter, r *http.Request) {
	m, ok, err := s.CurrentMember(r)
	if err != nil {
		s.failPage(w, r, "connected apps", err, "We could not load your connected apps. Please try again.")
		return
	}
	if !ok {
		http.Redirect(w, r, PathLogin+"?return_to="+url.QueryEscape(PathAccount), http.StatusSeeOther)
		return
	}
	rows, err := s.connectedApps(r.Context(), m)
	if err != nil {
		s.failPage(w, r, "list grants", err, "We could not load your connected apps. Please try again.")
		return
	}
	notice := ""
	if r.URL.Query().Get("revoked") == "1" {
		notice = "Access ended. The app can no longer get your data."
	}
	s.render(w, http.StatusOK, "account.html", accountPage{CSRF: s.deps.CSRF.Token(w, r), Member: m.DisplayName, Apps: rows, Notice: notice})
}

func (s *Server) connectedApps(ctx context.Context, m Member) ([]connectedApp, error) {
	grants, err := s.deps.Apps.ListGrants(ctx, m.Username)
	if err != nil {
		return nil, err
	}
	var rows []connectedApp
	index := map[string]int{} // client id → row
	for _, g := range grants {
		if !g.Active() {
			continue
		}
		i, seen := index[g.ClientID]
		if !seen {
			row, err := s.appRow(ctx, g.ClientID)
			if err != nil {
				return nil, err
			}
			i = len(rows)
			index[g.ClientID] = i
			rows = append(rows, row)
		}
		row := &rows[i]
		row.Since = g.CreatedAt.Format(time.DateOnly) // grants come newest first: the last one seen is the oldest
		row.anyLive = row.anyLive || !g.CreatedAt.Before(row.validAfter)
		for _, sc := range g.Scopes {
			if d := s.describe(sc); sc != "openid" && sc != "launch/patient" && !slices.Contains(row.Access, d) {
				row.Access = append(row.Access, d)
			}
		}
	}
	for i := range rows {
		if rows[i].Status == "" && !rows[i].anyLive {
			rows[i].Status = "Cut off by your health plan"
		}
	}
	return rows, nil
}

// appRow starts a row with what the registry says of the app.
func (s *Server) appRow(ctx context.Context, clientID string) (connectedApp, error) {
	app, err := s.deps.Apps.GetApp(ctx, clientID)
	if err != nil && !errors.Is(err, apps.ErrNotFound) {
		return connectedApp{}, err
	}
	row := connectedApp{ClientID: clientID, Name: app.Name, Developer: app.Developer, validAfter: app.TokensValidAfter}
	if !app.Approved() {
		row.Status = "Cut off by your health plan (" + string(app.Status) + ")"
	}
	return row, nil
}

// serveRevokeApp ends every grant the signed-in member gave one app, and
// every token issued under them.
func (s *Server) serveRevokeApp(w http.ResponseWriter, r *http.Request) {
	if err := s.deps.CSRF.Verify(r); err != nil {
		s.errorPage(w, http.StatusForbidden, "This form has expired", "Please go back, reload the page and try again.")
		return
	}
	m, ok, err := s.CurrentMember(r)
	if err != nil {
		s.failPage(w, r, "revoke app", err, "We could not end this app's access. Please try again.")
		return
	}
	if !ok {
		http.Redirect(w, r, PathLogin+"?return_to="+url.QueryEscape(PathAccount), http.StatusSeeOther)
		return
	}
	n, err := s.RevokeApp(r.Context(), m.Username, r.PathValue("client"))
	switch {
	case err != nil:
		s.failPage(w, r, "revoke app", err, "We could not end this app's access. Please try again.")
	case n == 0:
		s.errorPage(w, http.StatusNotFound, "Not found", "You have not connected that app.")
	default:
		http.Redirect(w, r, PathAccount+"?revoked=1", http.StatusSeeOther)
	}
}

// RevokeApp ends every active grant the member gave the app and returns how
// many there were.
func (s *Server) RevokeApp(ctx context.Context, member, clientID string) (int, error) {
	grants, err := s.deps.Apps.ListGrants(ctx, member)
	if err != nil {
		return 0, fmt.Errorf("list grants: %w", err)
	}
	n := 0
	for _, g := range grants {
		if g.ClientID != clientID || !g.Active() {
			continue
		}
		if err := s.RevokeGrant(ctx, member, g.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
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
