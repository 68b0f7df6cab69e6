package apps

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Question is one of the privacy questions a plan asks apps after
// CMS-9115-F. Every app is asked the same questions and its answers are
// shown to members in the same words; no answer ever refuses an app.
type Question struct {
	ID string `json:"id"`
	// Text is the question as the app developer answers it.
	Text string `json:"text"`
}

// The ids of the attestation questions.
const (
	QuestionPolicy    = "public_policy"
	QuestionUses      = "states_uses"
	QuestionConsent   = "express_consent"
	QuestionDevice    = "device_data"
	QuestionEndAccess = "end_access"
)

// questions is the catalog, in the order pages show it.
var questions = []Question{
	{QuestionPolicy, "The app has a publicly available privacy policy, written in plain language, that the member can see before authorizing the app."},
	{QuestionUses, "The privacy policy says how the member's health data may be accessed, used, exchanged, shared or sold, now or in the future."},
	{QuestionConsent, "The app asks the member's express consent before their health data is accessed, used or sold."},
	{QuestionDevice, "The privacy policy says whether the app reads other data on the member's device, such as contacts, photos or location."},
	{QuestionEndAccess, "The privacy policy says how the member can end the app's access and what happens to their data then."},
}

// Questions returns the attestation questions, in the order pages show them.
func Questions() []Question { return append([]Question(nil), questions...) }

// AttestationStatus sums up an attestation in one word, the same for every
// app.
type AttestationStatus string

// The attestation statuses.
const (
	// AttestationNone: the app answered no question.
	AttestationNone AttestationStatus = "none"
	// AttestationAttested: the app answered yes to every question.
	AttestationAttested AttestationStatus = "attested"
	// AttestationDeclined: the app answered, but not yes to every question
	// (some answers are no, or missing).
	AttestationDeclined AttestationStatus = "declined"
)

// Attestation is an app's answers to the privacy questions, who gave them
// and when. The policy watch marks it stale when the app's privacy policy
// or terms change afterwards; a new attestation clears that.
type Attestation struct {
	// Answers maps a question id to the app's yes (true) or no (false); a
	// question without an entry was not answered.
	Answers map[string]bool `json:"answers,omitempty"`
	// By is who attested for the app (a name or email at the developer).
	By string `json:"by,omitempty"`
	// At is when the answers were given.
	At time.Time `json:"at,omitzero"`
	// StaleSince is when the policy watch saw the privacy policy or terms
	// change after the answers were given (zero: not stale).
	StaleSince time.Time `json:"stale_since,omitzero"`
}

// Status sums the attestation up: none, attested or declined.
func (a Attestation) Status() AttestationStatus {
	if len(a.Answers) == 0 {
		return AttestationNone
	}
	for _, q := range questions {
		if !a.Answers[q.ID] {
			return AttestationDeclined
		}
	}
	return AttestationAttested
}

// Stale reports whether the privacy policy or terms changed after the
// app attested.
func (a Attestation) Stale() bool { return !a.StaleSince.IsZero() }

// Answer returns the app's answer to a question: "yes", "no", or "" when
// it did not answer.
func (a Attestation) Answer(id string) string {
	v, ok := a.Answers[id]
	switch {
	case !ok:
		return ""
	case v:
		return "yes"
	}
	return "no"
}

// clone returns a with its own copy of the answers.
func (a Attestation) clone() Attestation {
	a.Answers = maps.Clone(a.Answers)
	return a
}

// AttestAll returns an attestation answering every question with yes
// (true) or no (false), by whom and when.
func AttestAll(yes bool, by string, at time.Time) Attestation {
	a := Attestation{Answers: map[string]bool{}, By: by, At: at}
	for _, q := range questions {
		a.Answers[q.ID] = yes
	}
	return a
}

// validate reports what is wrong with the attestation's answers and
// attester: unknown question ids, too long a name.
func (a Attestation) validate() []string {
	var p []string
	for id := range a.Answers {
		if !knownQuestion(id) {
			p = append(p, fmt.Sprintf("attestation: unknown question %q (the questions are %s)", id, questionIDs()))
		}
	}
	p = append(p, checkText("attestation by", a.By, false)...)
	return p
}

func knownQuestion(id string) bool {
	for _, q := range questions {
		if q.ID == id {
			return true
		}
	}
	return false
}

func questionIDs() string {
	ids := make([]string, len(questions))
	for i, q := range questions {
		ids[i] = q.ID
	}
	return strings.Join(ids, ", ")
}

// UnmarshalJSON reads an attestation object or, for apps stored before the
// questions existed, the old single value: "attested" becomes yes to every
// question, "declined" no to every question, "none" (or "") no answers.
// The old value said nothing of who attested or when; those stay empty.
func (a *Attestation) UnmarshalJSON(data []byte) error {
	var old string
	if err := json.Unmarshal(data, &old); err == nil {
		switch AttestationStatus(old) {
		case AttestationAttested:
			*a = AttestAll(true, "", time.Time{})
		case AttestationDeclined:
			*a = AttestAll(false, "", time.Time{})
		case AttestationNone, "":
			*a = Attestation{}
		default:
			return fmt.Errorf("attestation: unknown value %q", old)
		}
		return nil
	}
	type plain Attestation
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*a = Attestation(p)
	return nil
}
