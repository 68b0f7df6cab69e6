package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth/smart"
)

// serveAuthorize is the authorization endpoint (RFC 6749 §3.1, SMART
// standalone launch). GET shows the consent page (after sign-in); POST
// records the member's decision. The OAuth parameters always travel in the
// query string; the consent form posts back to the same URL.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	app, ar, ok := s.authorizeRequest(w, r)
	if !ok {
		return
	}
	member, signedIn, err := s.CurrentMember(r)
	if err != nil {
		s.failPage(w, r, "authorize", err, "We could not continue to the app. Please try again later.")
		return
	}
	silent := r.Method != http.MethodPost && promptNone(ar)
	switch {
	case !signedIn && silent:
		s.refuseSilent(ctx, w, ar, app, fosite.ErrLoginRequired.WithHint("prompt=none, and no member is signed in."))
		return
	case !signedIn:
		http.Redirect(w, r, PathLogin+"?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	case silent:
		s.refuseSilent(ctx, w, ar, app, fosite.ErrConsentRequired.WithHint("prompt=none, and every authorization needs the member's consent."))
		return
	}
	consent := s.buildConsent(ar)
	if r.Method != http.MethodPost {
		s.renderConsent(w, r, app, member, consent)
		return
	}
	if r.PostFormValue("decision") != "allow" {
		s.audit(ctx, apps.Event{Action: "authorize", Outcome: "denied", ClientID: app.ClientID, Member: member.Username, Patient: member.PatientID, Reason: "member denied"})
		s.provider.WriteAuthorizeError(ctx, w, ar, fosite.ErrAccessDenied.WithHint("The member did not allow access."))
		return
	}
	s.approve(ctx, w, ar, app, member, s.decide(consent, r.PostForm))
}

// authorizeRequest checks an authorization request, the cheapest checks
// first, and answers it itself when it refuses it:
//
//  1. a query over MaxAuthorizeQuery: the error page (414), before any read;
//  2. a consent post without its CSRF token: the error page (403);
//  3. client_id or redirect_uri repeated: the error page (400), since the
//     redirect target is not known;
//  4. an unknown or unapproved app, or an unregistered redirect URI: the
//     error page (checkApp), after one read of the app;
//  5. a parameter repeated or too long, too many or too long scopes, a
//     malformed code_challenge (checkParams): a redirect to the verified
//     redirect URI with invalid_request or invalid_scope, before fosite
//     or any scope strategy sees the request;
//  6. what fosite and the SMART rules refuse: a redirect with the error.
func (s *Server) authorizeRequest(w http.ResponseWriter, r *http.Request) (apps.App, fosite.AuthorizeRequester, bool) {
	ctx := r.Context()
	if len(r.URL.RawQuery) > MaxAuthorizeQuery {
		s.problem(w, r, http.StatusRequestURITooLong, ui.ProblemLinkTooLong)
		return apps.App{}, nil, false
	}
	if r.Method == http.MethodPost {
		if err := s.deps.CSRF.Verify(r); err != nil {
			s.problem(w, r, http.StatusForbidden, ui.ProblemFormExpired)
			return apps.App{}, nil, false
		}
	}
	q := r.URL.Query()
	if len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1 {
		s.problem(w, r, http.StatusBadRequest, ui.ProblemLinkRepeated)
		return apps.App{}, nil, false
	}
	app, ok := s.checkApp(w, r)
	if !ok {
		return app, nil, false
	}
	var ar fosite.AuthorizeRequester
	err := checkParams(q)
	if err != nil {
		ar = s.verifiedRequest(app, q)
	} else {
		ar, err = s.provider.NewAuthorizeRequest(ctx, s.narrowedRequest(r, app))
	}
	if err == nil {
		err = s.checkSMART(ar)
	}
	if err != nil {
		s.audit(ctx, apps.Event{Action: "authorize", Outcome: "denied", ClientID: app.ClientID, Reason: fosite.ErrorToRFC6749Error(err).ErrorField})
		s.logOAuthError(ctx, "authorization request refused", err)
		s.provider.WriteAuthorizeError(ctx, w, ar, authorizeError(ctx, err))
		return app, nil, false
	}
	return app, ar, true
}

// verifiedRequest is the least of an authorization request fosite needs
// to redirect an error to: the app's client, the redirect URI checkApp
// verified, and the state. It lets a request be refused with a redirect
// before fosite reads the rest of it.
func (s *Server) verifiedRequest(app apps.App, q url.Values) fosite.AuthorizeRequester {
	ar := fosite.NewAuthorizeRequest()
	ar.Client = s.store.client(app)
	ar.RedirectURI, _ = url.Parse(q.Get("redirect_uri"))
	ar.State = q.Get("state")
	return ar
}

// promptNone reports whether the app asked for no page at all (OpenID
// Connect Core §3.1.2.1, prompt=none).
func promptNone(ar fosite.AuthorizeRequester) bool {
	return slices.Contains(strings.Fields(ar.GetRequestForm().Get("prompt")), "none")
}

// refuseSilent answers a prompt=none request that would need a page: the
// login (login_required) or the consent page (consent_required), which
// this server always shows (OpenID Connect Core §3.1.2.6).
func (s *Server) refuseSilent(ctx context.Context, w http.ResponseWriter, ar fosite.AuthorizeRequester, app apps.App, err *fosite.RFC6749Error) {
	s.audit(ctx, apps.Event{Action: "authorize", Outcome: "denied", ClientID: app.ClientID, Reason: err.ErrorField})
	s.provider.WriteAuthorizeError(ctx, w, ar, err)
}

// checkApp refuses, with an error page and never a redirect, an unknown or
// unapproved app and a redirect URI that is not registered exactly.
func (s *Server) checkApp(w http.ResponseWriter, r *http.Request) (apps.App, bool) {
	q := r.URL.Query()
	app, err := s.deps.Apps.GetApp(r.Context(), q.Get("client_id"))
	if errors.Is(err, apps.ErrNotFound) || (err == nil && q.Get("client_id") == "") {
		s.problem(w, r, http.StatusBadRequest, ui.ProblemUnknownApp)
		return app, false
	}
	if err != nil {
		s.failPage(w, r, "load app", err, ui.ProblemCheckAppFailed)
		return app, false
	}
	if !app.Approved() {
		s.audit(r.Context(), apps.Event{Action: "authorize", Outcome: "denied", ClientID: app.ClientID, Reason: "app " + string(app.Status)})
		s.deps.UI.Error(w, r, ui.ErrorView{Problem: appStatusProblem(app), Status: http.StatusForbidden, App: app.Name})
		return app, false
	}
	if !slices.Contains(app.RedirectURIs, q.Get("redirect_uri")) {
		s.problem(w, r, http.StatusBadRequest, ui.ProblemRedirectUnknown)
		return app, false
	}
	return app, true
}

// appStatusProblem tells the member why an unapproved app cannot connect.
// The page is public (anyone who knows a client_id can open it), so it
// never shows the reason an admin typed when suspending or denying the
// app: that is for admins, through the admin API.
func appStatusProblem(a apps.App) ui.Problem {
	if a.Status == apps.StatusPending {
		return ui.ProblemAppPending
	}
	return ui.ProblemAppUnavailable
}

// narrowedRequest gives fosite the query parameters only, with the scope
// narrowed to what the app is registered for (requested ∩ registered) and
// to what the FHIR API honours (see honoured).
func (s *Server) narrowedRequest(r *http.Request, app apps.App) *http.Request {
	q := r.URL.Query()
	if raw := q.Get("scope"); raw != "" {
		narrowed := slices.DeleteFunc(narrowScopes(strings.Fields(raw), app.Scopes), func(sc string) bool { return !s.honoured(sc) })
		q.Set("scope", strings.Join(narrowed, " "))
	}
	r2 := r.Clone(r.Context())
	r2.Form = q
	r2.PostForm = url.Values{}
	r2.Body = http.NoBody
	r2.ContentLength = 0
	return r2
}

// narrowScopes keeps each requested scope the registered ones cover; for a
// requested scope wider than the registration (patient/*.read against
// patient/Coverage.read) it keeps the registered scopes it covers. A user/
// resource scope is weighed as the same patient/ scope and kept in the
// user/ form the app asked for: to a member's token the two grant the same
// (the member's own compartment and shared reference data; see
// access.MemberScopes), and SMART apps written for user/ scopes (the CARIN
// test kit's default) get what they asked for.
func narrowScopes(requested, registered []string) []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, raw := range requested {
		asked, user := asPatientScope(raw)
		if smart.Strategy(registered, asked) {
			add(raw)
			continue
		}
		req, err := smart.Parse(asked)
		if err != nil || !req.IsResource() {
			continue
		}
		for _, g := range registered {
			if gs, err := smart.Parse(g); err == nil && gs.IsResource() && smart.Covers(req, gs) {
				if user {
					g = string(smart.ContextUser) + strings.TrimPrefix(g, string(smart.ContextPatient))
				}
				add(g)
			}
		}
	}
	return out
}

// scopeStrategy is the fosite.ScopeStrategy of the server: smart.Strategy,
// and a user/ resource scope is also covered where its patient/ form is
// (see narrowScopes), so an app registered for patient/ scopes may be
// granted, and refresh, the user/ scopes it asked for.
func scopeStrategy(haystack []string, needle string) bool {
	if smart.Strategy(haystack, needle) {
		return true
	}
	asked, user := asPatientScope(needle)
	return user && smart.Strategy(haystack, asked)
}

// asPatientScope returns the patient/ form of a user/ resource scope and
// true, or raw and false for any other scope.
func asPatientScope(raw string) (string, bool) {
	rest, ok := strings.CutPrefix(raw, string(smart.ContextUser)+"/")
	if !ok {
		return raw, false
	}
	if s, err := smart.Parse(raw); err != nil || !s.IsResource() {
		return raw, false
	}
	return string(smart.ContextPatient) + "/" + rest, true
}

// checkSMART applies the SMART rules fosite does not know: `aud` must name
// this FHIR server (SMART App Launch 2.x §2.0.6), and PKCE must be S256
// (checked here too so the member is not asked to consent in vain).
func (s *Server) checkSMART(ar fosite.AuthorizeRequester) error {
	form := ar.GetRequestForm()
	aud := strings.TrimSuffix(form.Get("aud"), "/")
	if aud != strings.TrimSuffix(s.cfg.FHIRBaseURL, "/") {
		return fosite.ErrInvalidRequest.WithHint("The 'aud' parameter must be this server's FHIR base URL.")
	}
	if form.Get("code_challenge") == "" || form.Get("code_challenge_method") != "S256" {
		return fosite.ErrInvalidRequest.WithHint("PKCE with code_challenge_method=S256 is required.")
	}
	return nil
}

// approve records the grant the member chose and sends them back to the
// app with a code.
func (s *Server) approve(ctx context.Context, w http.ResponseWriter, ar fosite.AuthorizeRequester, app apps.App, m Member, d decision) {
	for _, sc := range d.scopes {
		ar.GrantScope(sc)
	}
	ar.GrantAudience(s.cfg.FHIRBaseURL)
	now := s.now()
	g := apps.Grant{ID: ar.GetID(), Member: m.Username, Patient: m.PatientID, ClientID: app.ClientID,
		Scopes: d.scopes, Sensitive: d.sensitive, OneTime: d.oneTime, ExpiresAt: s.grantEnd(now, d.oneTime), CreatedAt: now}
	sess := s.newMemberSession(ar, m, g)
	if err := s.deps.Apps.CreateGrant(ctx, g); err != nil {
		s.deps.Logger.ErrorContext(ctx, "store grant", "err", err)
		s.provider.WriteAuthorizeError(ctx, w, ar, authorizeError(ctx, fosite.ErrServerError.WithWrap(err)))
		return
	}
	resp, err := s.provider.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		s.logOAuthError(ctx, "authorization response refused", err)
		s.provider.WriteAuthorizeError(ctx, w, ar, authorizeError(ctx, err))
		return
	}
	s.audit(ctx, apps.Event{Action: "authorize", Outcome: "success", ClientID: app.ClientID, Member: m.Username,
		Patient: m.PatientID, Reason: d.auditText(g.ExpiresAt)})
	s.provider.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// grantEnd is when a grant made at now ends: in OneTimeLifespan for a
// one-time grant, in GrantMonths calendar months otherwise.
func (s *Server) grantEnd(now time.Time, oneTime bool) time.Time {
	if oneTime {
		return now.Add(OneTimeLifespan)
	}
	return now.AddDate(0, s.cfg.GrantMonths, 0)
}
