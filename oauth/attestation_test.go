package oauth

import (
	"slices"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
)

// TestConsentAppAttestation: the consent page lists every question apps
// are asked, in the registry's order, with the app's answer; an app that
// did not attest gets no answers (and the page its stronger notice).
func TestConsentAppAttestation(t *testing.T) {
	var ids []string
	for _, q := range apps.Questions() {
		ids = append(ids, q.ID)
	}
	if !slices.Equal(ids, ui.AttestationQuestions) {
		t.Fatalf("the consent page asks %v, the registry %v", ui.AttestationQuestions, ids)
	}
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	app := apps.App{Name: "T", Attestation: apps.Attestation{Answers: map[string]bool{apps.QuestionPolicy: true, apps.QuestionDevice: false},
		By: "D", At: at, StaleSince: at.Add(time.Hour)}, PolicyChangedAt: at.Add(time.Hour)}
	c := consentApp(app)
	want := []ui.AttestationAnswer{{Question: "public_policy", Answer: "yes"}, {Question: "states_uses"}, {Question: "express_consent"},
		{Question: "device_data", Answer: "no"}, {Question: "end_access"}}
	if c.Attestation != "declined" || !slices.Equal(c.Answers, want) || !c.Stale || !c.PolicyChanged.Equal(app.PolicyChangedAt) {
		t.Fatalf("consent app %+v", c)
	}
	if c := consentApp(apps.App{Name: "U"}); c.Attestation != "none" || c.Answers != nil || c.Stale {
		t.Fatalf("unattested consent app %+v", c)
	}
}
