package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth/smart"
)

// connectedApp is one row of the member's connected-apps page.
type connectedApp struct {
	GrantID   string
	Name      string
	Developer string
	Status    string
	Since     string
	Access    []string
}

type accountPage struct {
	CSRF   string
	Member string
	Apps   []connectedApp
	Notice string
}

// serveAccount lists the apps the signed-in member has granted access to.
func (s *Server) serveAccount(w http.ResponseWriter, r *http.Request) {
	m, ok := s.CurrentMember(r)
	if !ok {
		http.Redirect(w, r, PathLogin+"?return_to="+url.QueryEscape(PathAccount), http.StatusSeeOther)
		return
	}
	rows, err := s.connectedApps(r.Context(), m)
	if err != nil {
		s.deps.Logger.ErrorContext(r.Context(), "list grants", "err", err)
		s.errorPage(w, http.StatusInternalServerError, "Something went wrong", "We could not load your connected apps. Please try again.")
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
	for _, g := range grants {
		if !g.Active() {
			continue
		}
		app, err := s.deps.Apps.GetApp(ctx, g.ClientID)
		if err != nil && !errors.Is(err, apps.ErrNotFound) {
			return nil, err
		}
		row := connectedApp{GrantID: g.ID, Name: app.Name, Developer: app.Developer, Since: g.CreatedAt.Format(time.DateOnly)}
		if !app.Approved() || g.CreatedAt.Before(app.TokensValidAfter) {
			row.Status = "Cut off by your health plan (" + string(app.Status) + ")"
		}
		for _, sc := range g.Scopes {
			if sc == "openid" || sc == "launch/patient" {
				continue
			}
			row.Access = append(row.Access, smart.Describe(sc))
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// serveRevokeGrant ends one of the member's grants and every token issued
// under it.
func (s *Server) serveRevokeGrant(w http.ResponseWriter, r *http.Request) {
	if err := s.deps.CSRF.Verify(r); err != nil {
		s.errorPage(w, http.StatusForbidden, "This form has expired", "Please go back, reload the page and try again.")
		return
	}
	m, ok := s.CurrentMember(r)
	if !ok {
		http.Redirect(w, r, PathLogin+"?return_to="+url.QueryEscape(PathAccount), http.StatusSeeOther)
		return
	}
	if err := s.RevokeGrant(r.Context(), m.Username, r.PathValue("grant")); err != nil {
		if errors.Is(err, apps.ErrNotFound) {
			s.errorPage(w, http.StatusNotFound, "Not found", "We could not find that connected app.")
			return
		}
		s.deps.Logger.ErrorContext(r.Context(), "revoke grant", "err", err)
		s.errorPage(w, http.StatusInternalServerError, "Something went wrong", "We could not end this app's access. Please try again.")
		return
	}
	http.Redirect(w, r, PathAccount+"?revoked=1", http.StatusSeeOther)
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
