// Package directory serves the public directory of the apps the plan
// approved: a page in the members' layout at /directory and the same list
// as JSON at /directory.json. It shows what members need to choose an
// app (name, description, developer, website, policy links, attestation)
// and nothing an app registered for the plan's eyes only (contacts,
// redirect URIs, keys, review notes).
package directory

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
)

// The paths the directory is served at.
const (
	Path     = "/directory"
	JSONPath = "/directory.json"
)

// Searcher lists registered apps (apps.Registry satisfies it).
type Searcher interface {
	Search(ctx context.Context, f apps.Filter) ([]apps.App, error)
}

// Handler serves the directory.
type Handler struct {
	Apps   Searcher
	Pages  *ui.UI
	Logger *slog.Logger // nil discards
}

// Mount registers the page and the JSON list.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Path, h.page)
	mux.HandleFunc("GET "+JSONPath, h.json)
}

// Entry is one app of /directory.json.
type Entry struct {
	ClientID         string      `json:"client_id"`
	Name             string      `json:"name"`
	Description      string      `json:"description,omitempty"`
	Developer        string      `json:"developer,omitempty"`
	WebsiteURL       string      `json:"website_url,omitempty"`
	LogoURL          string      `json:"logo_url,omitempty"`
	PrivacyPolicyURL string      `json:"privacy_policy_url,omitempty"`
	TermsURL         string      `json:"terms_url,omitempty"`
	Attestation      Attestation `json:"attestation"`
	// PolicyChangedAt is when the app's privacy policy or terms were last
	// seen to change.
	PolicyChangedAt *time.Time `json:"policy_changed_at,omitempty"`
}

// Attestation is an app's attestation as the directory publishes it.
type Attestation struct {
	// Status is "attested" (yes to every question), "declined" or "none".
	Status string `json:"status"`
	// Answers maps each question id to "yes" or "no"; unanswered
	// questions are left out.
	Answers    map[string]string `json:"answers,omitempty"`
	AttestedAt *time.Time        `json:"attested_at,omitempty"`
	// Stale says the privacy policy or terms changed after the app attested.
	Stale bool `json:"stale,omitempty"`
}

// Directory is the body of /directory.json.
type Directory struct {
	Apps []Entry `json:"apps"`
}

func (h *Handler) approved(w http.ResponseWriter, r *http.Request) ([]apps.App, bool) {
	list, err := h.Apps.Search(r.Context(), apps.Filter{Status: apps.StatusApproved})
	if err != nil {
		h.logger().ErrorContext(r.Context(), "directory: list apps", "err", err)
		return nil, false
	}
	return list, true
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	list, ok := h.approved(w, r)
	if !ok {
		h.Pages.Error(w, r, ui.ErrorView{Problem: ui.ProblemSomethingWentWrong, Status: http.StatusServiceUnavailable})
		return
	}
	v := ui.DirectoryView{JSONPath: JSONPath}
	for _, a := range list {
		d := ui.DirectoryApp{ClientID: a.ClientID, Name: a.Name, Description: a.Description, Developer: a.Developer,
			Website: a.WebsiteURL, LogoURL: logoURL(a), PrivacyPolicyURL: a.PrivacyPolicyURL, TermsURL: a.TermsURL,
			Attestation: string(a.Attestation.Status()), Stale: a.Attestation.Stale(), PolicyChanged: a.PolicyChangedAt}
		if a.Attestation.Status() != apps.AttestationNone {
			for _, q := range ui.AttestationQuestions {
				d.Answers = append(d.Answers, ui.AttestationAnswer{Question: q, Answer: a.Attestation.Answer(q)})
			}
		}
		v.Apps = append(v.Apps, d)
	}
	h.Pages.Directory(w, r, v)
}

func (h *Handler) json(w http.ResponseWriter, r *http.Request) {
	list, ok := h.approved(w, r)
	if !ok {
		w.Header().Set("Retry-After", "5")
		http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	out := Directory{Apps: []Entry{}}
	for _, a := range list {
		e := Entry{ClientID: a.ClientID, Name: a.Name, Description: a.Description, Developer: a.Developer,
			WebsiteURL: a.WebsiteURL, LogoURL: logoURL(a), PrivacyPolicyURL: a.PrivacyPolicyURL, TermsURL: a.TermsURL,
			Attestation:     Attestation{Status: string(a.Attestation.Status()), Stale: a.Attestation.Stale()},
			PolicyChangedAt: timePtr(a.PolicyChangedAt)}
		if e.Attestation.Status != string(apps.AttestationNone) {
			e.Attestation.Answers = map[string]string{}
			for _, q := range apps.Questions() {
				if ans := a.Attestation.Answer(q.ID); ans != "" {
					e.Attestation.Answers[q.ID] = ans
				}
			}
			e.Attestation.AttestedAt = timePtr(a.Attestation.At)
		}
		out.Apps = append(out.Apps, e)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_ = json.NewEncoder(w).Encode(out)
}

// logoURL is the gateway's own copy of the app's logo (oauth serves it).
func logoURL(a apps.App) string {
	if !a.HasLogo {
		return ""
	}
	return "/apps/" + a.ClientID + "/logo.png"
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
