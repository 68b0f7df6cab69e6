package portal

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/devaccount"
	"github.com/patientaccess/gateway/gateway/ui"
)

func nav(h *Handler, w http.ResponseWriter, r *http.Request, a devaccount.Account) ui.DevNav {
	return ui.DevNav{Email: a.Email, CSRF: h.deps.CSRF.Token(w, r)}
}

// ownApps are the apps the developer registered: never another's.
func (h *Handler) ownApps(r *http.Request, a devaccount.Account) ([]apps.App, error) {
	by := actor(a)
	return h.deps.Registry.Search(r.Context(), apps.Filter{RegisteredBy: &by})
}

func (h *Handler) serveApps(w http.ResponseWriter, r *http.Request, a devaccount.Account) {
	list, err := h.ownApps(r, a)
	if err != nil {
		h.failed(w, r, nav(h, w, r, a), err)
		return
	}
	v := ui.PortalAppsView{}
	for _, app := range list {
		v.Apps = append(v.Apps, ui.PortalAppRow{ClientID: app.ClientID, Name: app.Name, Status: string(app.Status), Registered: app.CreatedAt})
	}
	h.deps.UI.PortalApps(w, r, nav(h, w, r, a), v)
}

// registerView is the registration form, with the account's details as
// defaults.
func (h *Handler) registerView(w http.ResponseWriter, r *http.Request, a devaccount.Account) ui.PortalRegisterView {
	v := ui.PortalRegisterView{CSRF: h.deps.CSRF.Token(w, r),
		Form: ui.PortalRegistration{Developer: a.Organisation, ContactEmail: a.Email, ClientType: string(apps.ClientPublic),
			Scopes: strings.Join(apps.DefaultScopes, " "), AttestedBy: cmp.Or(a.Name, a.Email), Answers: map[string]string{}}}
	for _, q := range apps.Questions() {
		v.Questions = append(v.Questions, ui.PortalQuestion{ID: q.ID, Text: q.Text})
	}
	return v
}

func (h *Handler) serveNewApp(w http.ResponseWriter, r *http.Request, a devaccount.Account) {
	h.deps.UI.PortalRegister(w, r, http.StatusOK, nav(h, w, r, a), h.registerView(w, r, a))
}

// serveRegister registers an app through the registry, as the developer:
// it is checked against every criterion and lands pending (or approved,
// with the auto-approve policy and every automated check passed). Invalid
// input shows the form again with every problem, and stores nothing.
func (h *Handler) serveRegister(w http.ResponseWriter, r *http.Request, a devaccount.Account) {
	v := h.registerView(w, r, a)
	f := ui.PortalRegistration{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		Developer: r.PostFormValue("developer"), ContactEmail: r.PostFormValue("contact_email"), ContactPhone: r.PostFormValue("contact_phone"),
		WebsiteURL: r.PostFormValue("website_url"), PrivacyPolicyURL: r.PostFormValue("privacy_policy_url"), TermsURL: r.PostFormValue("terms_url"),
		LogoURI: r.PostFormValue("logo_uri"), WebhookURL: r.PostFormValue("webhook_url"), RedirectURIs: r.PostFormValue("redirect_uris"),
		ClientType: r.PostFormValue("client_type"), JWKSURI: r.PostFormValue("jwks_uri"), JWKS: r.PostFormValue("jwks"),
		Scopes: r.PostFormValue("scope"), AttestedBy: r.PostFormValue("attested_by"), Answers: map[string]string{}}
	reg := apps.Registration{Name: strings.TrimSpace(f.Name), Description: strings.TrimSpace(f.Description),
		Developer: strings.TrimSpace(f.Developer), ContactEmail: strings.TrimSpace(f.ContactEmail), ContactPhone: strings.TrimSpace(f.ContactPhone),
		RedirectURIs: strings.Fields(f.RedirectURIs), Scopes: strings.Fields(f.Scopes), PrivacyPolicyURL: strings.TrimSpace(f.PrivacyPolicyURL),
		TermsURL: strings.TrimSpace(f.TermsURL), WebsiteURL: strings.TrimSpace(f.WebsiteURL), LogoURI: strings.TrimSpace(f.LogoURI),
		WebhookURL: strings.TrimSpace(f.WebhookURL)}
	var problems []string
	switch apps.ClientType(f.ClientType) {
	case apps.ClientPublic:
		reg.Public = true
	case apps.ClientConfidentialSymmetric:
	case apps.ClientConfidentialAsymmetric:
		reg.JWKSURI = strings.TrimSpace(f.JWKSURI)
		if jwks := strings.TrimSpace(f.JWKS); jwks != "" {
			if !json.Valid([]byte(jwks)) {
				problems = append(problems, "The JWKS is not JSON.")
			}
			reg.JWKS = json.RawMessage(jwks)
		}
		if reg.JWKSURI == "" && len(reg.JWKS) == 0 {
			problems = append(problems, "A confidential asymmetric app needs its public keys: a JWKS or a jwks_uri.")
		}
	default:
		problems = append(problems, "Choose the client type.")
	}
	answers := map[string]bool{}
	for _, q := range apps.Questions() {
		switch ans := r.PostFormValue("q_" + q.ID); ans {
		case "yes", "no":
			answers[q.ID] = ans == "yes"
			f.Answers[q.ID] = ans
		}
	}
	if len(answers) > 0 {
		reg.Attestation = apps.Attestation{Answers: answers, By: strings.TrimSpace(f.AttestedBy)}
	}
	v.Form = f
	if len(problems) > 0 {
		v.Errors = problems
		h.deps.UI.PortalRegister(w, r, http.StatusBadRequest, nav(h, w, r, a), v)
		return
	}
	res, err := h.deps.Registry.Register(r.Context(), reg, actor(a))
	if err != nil && !errors.Is(err, apps.ErrNotAudited) {
		if errors.Is(err, apps.ErrInvalid) {
			v.Errors = strings.Split(strings.TrimPrefix(err.Error(), apps.ErrInvalid.Error()+": "), "; ")
			h.deps.UI.PortalRegister(w, r, http.StatusBadRequest, nav(h, w, r, a), v)
			return
		}
		h.failed(w, r, nav(h, w, r, a), err)
		return
	}
	if err != nil {
		h.deps.Logger.ErrorContext(r.Context(), "portal registration stored but not audited", "err", err)
	}
	view, err := h.appView(r, res.App)
	if err != nil {
		h.failed(w, r, nav(h, w, r, a), err)
		return
	}
	view.Secret, view.JustRegistered = res.Secret, true
	h.deps.UI.PortalApp(w, r, http.StatusCreated, nav(h, w, r, a), view)
}

// serveApp shows one of the developer's apps; another developer's app is
// answered exactly as a missing one.
func (h *Handler) serveApp(w http.ResponseWriter, r *http.Request, a devaccount.Account) {
	app, err := h.deps.Registry.Get(r.Context(), r.PathValue("client"))
	if errors.Is(err, apps.ErrNotFound) || err == nil && (app.RegisteredBy.Kind != apps.ActorDeveloper || app.RegisteredBy.ID != a.ID) {
		h.message(w, r, http.StatusNotFound, nav(h, w, r, a), "No such app", "You have no app with that client id.", false)
		return
	}
	if err != nil {
		h.failed(w, r, nav(h, w, r, a), err)
		return
	}
	v, err := h.appView(r, app)
	if err != nil {
		h.failed(w, r, nav(h, w, r, a), err)
		return
	}
	h.deps.UI.PortalApp(w, r, http.StatusOK, nav(h, w, r, a), v)
}

// appView is what a developer sees of their app: its registration, its
// status, the automated checks (objective, so shared), and each decision
// with the criteria cited and the note the admin wrote for them. The
// evidence and override reasons stay with the plan.
func (h *Handler) appView(r *http.Request, app apps.App) (ui.PortalAppView, error) {
	v := ui.PortalAppView{ClientID: app.ClientID, Name: app.Name, Status: string(app.Status), ClientType: string(app.ClientType()),
		RedirectURIs: app.RedirectURIs, Scopes: app.Scopes, Registered: app.CreatedAt, Attestation: string(app.Attestation.Status())}
	checks, err := h.deps.Registry.Checks(r.Context(), app.ClientID)
	if err != nil && !errors.Is(err, apps.ErrNotFound) {
		return v, err
	}
	titles := map[string]string{}
	for _, c := range apps.Criteria() {
		titles[c.ID] = c.Title
		if res, ok := checks.Result(c.ID); ok && c.Automated {
			v.Checks = append(v.Checks, ui.ConsoleCheck{ID: c.ID, Title: c.Title, Outcome: strings.ReplaceAll(string(res.Outcome), "_", " "), Problems: res.Problems})
		}
	}
	hist, err := h.deps.Registry.History(r.Context(), app.ClientID)
	if err != nil {
		return v, err
	}
	for _, e := range hist {
		if !e.Action.Decision() {
			continue
		}
		d := ui.PortalDecision{At: e.At, Action: string(e.Action), To: string(e.To), Note: e.Note, ChecksPassed: e.ChecksPassed}
		for _, id := range e.Criteria {
			d.Criteria = append(d.Criteria, ui.ConsoleCriterion{ID: id, Title: titles[id]})
		}
		v.Decisions = append(v.Decisions, d)
	}
	return v, nil
}
