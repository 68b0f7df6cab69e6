package ui

import (
	"net/http"
	"time"
)

// DirectoryApp is one approved app in the public app directory.
type DirectoryApp struct {
	ClientID         string
	Name             string
	Description      string
	Developer        string
	Website          string
	LogoURL          string // a path on this server, or ""
	PrivacyPolicyURL string
	TermsURL         string
	// Attestation is "attested", "declined" or "none", with the answers
	// as on the consent page.
	Attestation   string
	Answers       []AttestationAnswer
	Stale         bool
	PolicyChanged time.Time
}

// DirectoryView is the public directory of the apps the plan approved.
type DirectoryView struct {
	Apps     []DirectoryApp
	JSONPath string // where the same list is served as JSON
}

// Directory renders the public app directory.
func (u *UI) Directory(w http.ResponseWriter, r *http.Request, v DirectoryView) {
	u.render(w, r, http.StatusOK, "directory", v, nil)
}

// directorySamples are the views the start-up check renders.
func directorySamples(now time.Time) []any {
	var answers []AttestationAnswer
	for i, q := range AttestationQuestions {
		answers = append(answers, AttestationAnswer{Question: q, Answer: []string{"yes", "no", ""}[i%3]})
	}
	return []any{
		DirectoryView{JSONPath: "/directory.json"},
		DirectoryView{JSONPath: "/directory.json", Apps: []DirectoryApp{
			{ClientID: "a", Name: "A", Description: "D", Developer: "Dev", Website: "https://a", LogoURL: "/l", PrivacyPolicyURL: "https://p",
				TermsURL: "https://t", Attestation: "attested", Answers: answers, Stale: true, PolicyChanged: now},
			{ClientID: "b", Name: "B", Attestation: "none"},
		}},
	}
}
