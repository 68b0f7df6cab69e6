package console

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/admin"
	"github.com/patientaccess/gateway/gateway/ui"
)

// mountPages registers the pages behind sign-in.
func (h *Handler) mountPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, PathHome, http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET "+PathHome+"{$}", h.guard(false, h.serveQueue))
	mux.HandleFunc("GET /console/apps", h.guard(false, h.serveRegistry))
	mux.HandleFunc("GET /console/apps.csv", h.guard(false, h.serveRegistryCSV))
	mux.HandleFunc("GET /console/apps/{client}", h.guard(false, h.serveApp))
	mux.HandleFunc("POST /console/apps/{client}/checks", h.guard(false, h.serveRunChecks))
	mux.HandleFunc("POST /console/apps/{client}/decide", h.guard(true, h.serveDecide))
	mux.HandleFunc("GET /console/report", h.guard(false, h.serveReport))
	mux.HandleFunc("GET /console/report.json", h.guard(false, h.serveReportJSON))
	mux.HandleFunc("GET /console/report.csv", h.guard(false, h.serveReportCSV))
}

// statuses are the registry's statuses, in the order pages list them.
var statuses = []apps.Status{apps.StatusPending, apps.StatusApproved, apps.StatusDenied, apps.StatusSuspended, apps.StatusDeleted}

// row is an app as the queue and the registry list it.
func (h *Handler) row(r *http.Request, a apps.App) (ui.ConsoleAppRow, error) {
	row := ui.ConsoleAppRow{ClientID: a.ClientID, Name: a.Name, Developer: a.Developer, Status: string(a.Status),
		ClientType: string(a.ClientType()), Attestation: string(a.Attestation.Status()), Registered: a.CreatedAt,
		PolicyChanged: a.PolicyChangedAt, Stale: a.Attestation.Stale()}
	c, err := h.deps.Registry.Checks(r.Context(), a.ClientID)
	switch {
	case errors.Is(err, apps.ErrNotFound):
	case err != nil:
		return row, err
	default:
		row.ChecksRun, row.ChecksFailed = true, c.Failed()
	}
	return row, nil
}

func (h *Handler) serveQueue(w http.ResponseWriter, r *http.Request, p Person) {
	nav := h.nav(w, r, p)
	list, err := h.deps.Registry.List(r.Context())
	if err != nil {
		h.unavailable(w, r, nav, err)
		return
	}
	v := ui.ConsoleQueueView{CriteriaVer: apps.CriteriaVersion, AutoApprove: h.cfg.AutoApprove, CanDecide: p.CanDecide()}
	counts := map[apps.Status]int{}
	for _, a := range list {
		counts[a.Status]++
		if a.Status != apps.StatusPending && a.PolicyChangedAt.IsZero() {
			continue
		}
		row, err := h.row(r, a)
		if err != nil {
			h.unavailable(w, r, nav, err)
			return
		}
		if a.Status == apps.StatusPending {
			v.Pending = append(v.Pending, row)
		}
		if !a.PolicyChangedAt.IsZero() && a.Status != apps.StatusDeleted {
			v.PolicyChanged = append(v.PolicyChanged, row)
		}
	}
	slices.SortStableFunc(v.PolicyChanged, func(a, b ui.ConsoleAppRow) int { return b.PolicyChanged.Compare(a.PolicyChanged) })
	for _, s := range statuses {
		v.StatusCounts = append(v.StatusCounts, ui.StatusCount{Status: string(s), Count: counts[s]})
	}
	h.deps.UI.ConsoleQueue(w, r, nav, v)
}

// filter reads the registry's filter from the query: ?status= and ?q=.
func filter(r *http.Request) apps.Filter {
	q := r.URL.Query()
	f := apps.Filter{Query: strings.TrimSpace(q.Get("q"))}
	if s := apps.Status(q.Get("status")); s.Valid() {
		f.Status = s
	}
	if len(f.Query) > 200 {
		f.Query = f.Query[:200]
	}
	return f
}

func (h *Handler) serveRegistry(w http.ResponseWriter, r *http.Request, p Person) {
	nav := h.nav(w, r, p)
	f := filter(r)
	list, err := h.deps.Registry.Search(r.Context(), f)
	if err != nil {
		h.unavailable(w, r, nav, err)
		return
	}
	all, err := h.deps.Registry.List(r.Context())
	if err != nil {
		h.unavailable(w, r, nav, err)
		return
	}
	v := ui.ConsoleRegistryView{Status: string(f.Status), Query: f.Query, Total: len(all),
		CSVURL: "/console/apps.csv?" + url.Values{"status": {string(f.Status)}, "q": {f.Query}}.Encode()}
	for _, s := range statuses {
		v.Statuses = append(v.Statuses, string(s))
	}
	for _, a := range list {
		row, err := h.row(r, a)
		if err != nil {
			h.unavailable(w, r, nav, err)
			return
		}
		v.Apps = append(v.Apps, row)
	}
	h.deps.UI.ConsoleRegistry(w, r, nav, v)
}

// serveRegistryCSV exports the filtered registry as CSV.
func (h *Handler) serveRegistryCSV(w http.ResponseWriter, r *http.Request, p Person) {
	list, err := h.deps.Registry.Search(r.Context(), filter(r))
	if err != nil {
		h.unavailable(w, r, h.nav(w, r, p), err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="apps.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := admin.WriteCSV(w, list); err != nil {
		h.deps.Logger.ErrorContext(r.Context(), "write registry CSV", "err", err)
	}
}

// appView gathers the detail page of one app.
func (h *Handler) appView(w http.ResponseWriter, r *http.Request, p Person, a apps.App) (ui.ConsoleAppView, error) {
	ctx := r.Context()
	v := ui.ConsoleAppView{CSRF: h.deps.CSRF.Token(w, r), CanDecide: p.CanDecide(), ChecksVer: apps.CriteriaVersion,
		App: ui.ConsoleApp{ClientID: a.ClientID, Name: a.Name, Description: a.Description, Developer: a.Developer,
			ContactEmail: a.ContactEmail, ContactPhone: a.ContactPhone, WebsiteURL: a.WebsiteURL,
			PrivacyPolicyURL: a.PrivacyPolicyURL, TermsURL: a.TermsURL, LogoURI: a.LogoURI, WebhookURL: a.WebhookURL,
			RedirectURIs: a.RedirectURIs, ClientType: string(a.ClientType()), AuthMethod: a.AuthMethod(), JWKSURI: a.JWKSURI,
			HasJWKS: len(a.JWKS) > 0, Scopes: a.Scopes, Status: string(a.Status), StatusReason: a.StatusReason,
			Registered: a.CreatedAt, Updated: a.UpdatedAt}}
	if a.RegisteredBy.ID != "" {
		v.App.RegisteredBy = a.RegisteredBy.String()
	}
	if a.HasLogo {
		v.App.LogoURL = "/apps/" + a.ClientID + "/logo.png"
	}
	checks, err := h.deps.Registry.Checks(ctx, a.ClientID)
	if err != nil && !errors.Is(err, apps.ErrNotFound) {
		return v, err
	}
	v.ChecksAt, v.Failed = checks.RanAt, checks.Failed()
	if checks.CriteriaVersion != "" {
		v.ChecksVer = checks.CriteriaVersion
	}
	for _, c := range apps.Criteria() {
		v.Criteria = append(v.Criteria, ui.ConsoleCriterion{ID: c.ID, Title: c.Title, Automated: c.Automated})
		res, ok := checks.Result(c.ID)
		if !ok {
			continue
		}
		v.Checks = append(v.Checks, ui.ConsoleCheck{ID: c.ID, Title: c.Title, Outcome: strings.ReplaceAll(string(res.Outcome), "_", " "), Problems: res.Problems})
	}
	att := a.Attestation
	v.Attestation = ui.ConsoleAttestation{Status: string(att.Status()), By: att.By, At: att.At, StaleSince: att.StaleSince}
	for _, q := range apps.Questions() {
		v.Attestation.Answers = append(v.Attestation.Answers, ui.ConsoleAnswer{Question: q.Text, Answer: cmp.Or(att.Answer(q.ID), "not answered")})
	}
	hist, err := h.deps.Registry.History(ctx, a.ClientID)
	if err != nil {
		return v, err
	}
	for _, e := range hist {
		v.History = append(v.History, historyRow(e, a.Name))
	}
	usage, err := h.deps.Registry.Usage(ctx, a.ClientID)
	if err != nil {
		return v, err
	}
	v.LiveMembers, v.LastCall = usage.LiveMembers, usage.LastCall
	if p.CanDecide() {
		v.Actions = allowedActions(a.Status)
	}
	return v, nil
}

func historyRow(e apps.HistoryEntry, name string) ui.ConsoleHistoryRow {
	return ui.ConsoleHistoryRow{At: e.At, ClientID: e.ClientID, App: name, Actor: e.Actor.String(), Action: string(e.Action),
		From: string(e.From), To: string(e.To), CriteriaVersion: e.CriteriaVersion, Criteria: e.Criteria, Evidence: e.Evidence,
		ChecksPassed: e.ChecksPassed, Override: e.Override, Note: e.Note}
}

// allowedActions are the decisions an app's status allows.
func allowedActions(s apps.Status) []string {
	switch s {
	case apps.StatusPending:
		return []string{"approve", "deny"}
	case apps.StatusDenied:
		return []string{"approve"}
	case apps.StatusApproved:
		return []string{"suspend"}
	case apps.StatusSuspended:
		return []string{"reinstate"}
	}
	return nil
}

// loadApp reads the app of the request's path, or answers 404 or a failure.
func (h *Handler) loadApp(w http.ResponseWriter, r *http.Request, p Person) (apps.App, bool) {
	a, err := h.deps.Registry.Get(r.Context(), r.PathValue("client"))
	switch {
	case errors.Is(err, apps.ErrNotFound):
		h.message(w, r, http.StatusNotFound, h.nav(w, r, p), "No such app", "No app has that client id.", false)
		return a, false
	case err != nil:
		h.unavailable(w, r, h.nav(w, r, p), err)
		return a, false
	}
	return a, true
}

// notices are what the detail page says after an action (?done=).
var notices = map[string]string{
	"checks":  "The checks ran again; the results below are the new ones.",
	"approve": "Approved. Members can now authorize the app.", "deny": "Denied. The developer sees the criteria cited and your note.",
	"suspend":   "Suspended. Every token the app held stopped working at once; members who try it see that it cannot connect right now.",
	"reinstate": "Reinstated. Tokens issued before the suspension stay dead; members authorize the app again.",
}

func (h *Handler) serveApp(w http.ResponseWriter, r *http.Request, p Person) {
	a, ok := h.loadApp(w, r, p)
	if !ok {
		return
	}
	v, err := h.appView(w, r, p, a)
	if err != nil {
		h.unavailable(w, r, h.nav(w, r, p), err)
		return
	}
	v.Notice = notices[r.URL.Query().Get("done")]
	h.deps.UI.ConsoleAppPage(w, r, http.StatusOK, h.nav(w, r, p), v)
}

// serveRunChecks runs every automated check of the app now (reviewers may).
func (h *Handler) serveRunChecks(w http.ResponseWriter, r *http.Request, p Person) {
	a, ok := h.loadApp(w, r, p)
	if !ok {
		return
	}
	if _, err := h.deps.Registry.RunChecks(r.Context(), a.ClientID); err != nil {
		h.unavailable(w, r, h.nav(w, r, p), err)
		return
	}
	h.audit(r, apps.Event{Action: "app.checks", Outcome: "success", ClientID: a.ClientID, Actor: p.Actor().String()})
	http.Redirect(w, r, "/console/apps/"+url.PathEscape(a.ClientID)+"?done=checks#checks", http.StatusSeeOther)
}

// serveDecide applies an admin's decision through the registry, which
// checks the criteria cited, the evidence and the override, records the
// history and audits it with the admin as actor. A refused decision shows
// the page again with why, and what was typed.
func (h *Handler) serveDecide(w http.ResponseWriter, r *http.Request, p Person) {
	a, ok := h.loadApp(w, r, p)
	if !ok {
		return
	}
	form := ui.DecisionForm{Action: r.PostFormValue("action"), Criteria: r.PostForm["criteria"],
		Evidence: r.PostFormValue("evidence"), Override: r.PostFormValue("override"), Note: r.PostFormValue("note")}
	_, err := h.deps.Registry.Decide(r.Context(), a.ClientID, apps.DecisionRequest{Action: apps.Action(form.Action), Actor: p.Actor(),
		Criteria: form.Criteria, Evidence: form.Evidence, Override: form.Override, Note: form.Note})
	if err != nil && !errors.Is(err, apps.ErrNotAudited) {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, apps.ErrConflict):
			status = http.StatusConflict
		case errors.Is(err, apps.ErrInvalid), errors.Is(err, apps.ErrChecksFailed):
		default:
			h.unavailable(w, r, h.nav(w, r, p), err)
			return
		}
		now, gerr := h.deps.Registry.Get(r.Context(), a.ClientID)
		if gerr != nil {
			h.unavailable(w, r, h.nav(w, r, p), gerr)
			return
		}
		v, verr := h.appView(w, r, p, now)
		if verr != nil {
			h.unavailable(w, r, h.nav(w, r, p), verr)
			return
		}
		v.Error, v.Form = "Not done: "+describe(err), form
		h.deps.UI.ConsoleAppPage(w, r, status, h.nav(w, r, p), v)
		return
	}
	if err != nil {
		h.deps.Logger.ErrorContext(r.Context(), "console decision stored but not audited", "err", err)
	}
	http.Redirect(w, r, "/console/apps/"+url.PathEscape(a.ClientID)+"?done="+url.QueryEscape(form.Action), http.StatusSeeOther)
}

// describe is a registry error without its sentinel prefixes.
func describe(err error) string {
	s := err.Error()
	for _, prefix := range []string{"decide app: ", apps.ErrInvalid.Error() + ": ", apps.ErrConflict.Error() + ": ", apps.ErrChecksFailed.Error() + ": "} {
		s = strings.ReplaceAll(s, prefix, "")
	}
	return s
}

// reportVersions groups every decision by criteria version, newest
// version first, with the app names.
func (h *Handler) reportVersions(r *http.Request) ([]ui.ConsoleReportVersion, error) {
	decisions, err := h.deps.Registry.Report(r.Context(), "")
	if err != nil {
		return nil, err
	}
	list, err := h.deps.Registry.List(r.Context())
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, a := range list {
		names[a.ClientID] = a.Name
	}
	byVersion := map[string]*ui.ConsoleReportVersion{}
	var order []string
	for _, e := range decisions {
		v := byVersion[e.CriteriaVersion]
		if v == nil {
			v = &ui.ConsoleReportVersion{Version: e.CriteriaVersion}
			byVersion[e.CriteriaVersion] = v
			order = append(order, e.CriteriaVersion)
		}
		v.Decisions = append(v.Decisions, historyRow(e, names[e.ClientID]))
	}
	slices.Sort(order)
	slices.Reverse(order)
	out := make([]ui.ConsoleReportVersion, 0, len(order))
	for _, ver := range order {
		v := byVersion[ver]
		counts := map[string]int{}
		for _, d := range v.Decisions {
			counts[d.Action]++
		}
		for _, act := range []apps.Action{apps.ActionApprove, apps.ActionDeny, apps.ActionSuspend, apps.ActionReinstate} {
			v.Counts = append(v.Counts, ui.StatusCount{Status: string(act), Count: counts[string(act)]})
		}
		out = append(out, *v)
	}
	return out, nil
}

func (h *Handler) serveReport(w http.ResponseWriter, r *http.Request, p Person) {
	nav := h.nav(w, r, p)
	versions, err := h.reportVersions(r)
	if err != nil {
		h.unavailable(w, r, nav, err)
		return
	}
	v := ui.ConsoleReportView{Versions: versions, Current: apps.CriteriaVersion}
	for _, c := range apps.Criteria() {
		v.Criteria = append(v.Criteria, ui.ConsoleCriterion{ID: c.ID, Title: c.Title, Automated: c.Automated})
	}
	h.deps.UI.ConsoleReport(w, r, nav, v)
}

func (h *Handler) serveReportJSON(w http.ResponseWriter, r *http.Request, p Person) {
	decisions, err := h.deps.Registry.Report(r.Context(), r.URL.Query().Get("version"))
	if err != nil {
		h.unavailable(w, r, h.nav(w, r, p), err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"current_version": apps.CriteriaVersion, "criteria": apps.Criteria(), "decisions": decisions})
}

func (h *Handler) serveReportCSV(w http.ResponseWriter, r *http.Request, p Person) {
	decisions, err := h.deps.Registry.Report(r.Context(), r.URL.Query().Get("version"))
	if err != nil {
		h.unavailable(w, r, h.nav(w, r, p), err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="decisions.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"at", "client_id", "criteria_version", "action", "from", "to", "actor", "criteria", "checks_passed", "override", "evidence", "note"})
	for _, e := range decisions {
		row := []string{e.At.UTC().Format(time.RFC3339), e.ClientID, e.CriteriaVersion, string(e.Action), string(e.From), string(e.To),
			e.Actor.String(), strings.Join(e.Criteria, " "), boolWord(e.ChecksPassed), safeCell(e.Override), safeCell(e.Evidence), safeCell(e.Note)}
		_ = cw.Write(row)
	}
	cw.Flush()
}

func boolWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// safeCell defuses a cell a spreadsheet would read as a formula.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
