package smart

import (
	"sort"
	"strings"
)

// typeLabels are the plain nouns for the resource types members meet.
var typeLabels = map[string]string{
	"ExplanationOfBenefit": "claims (explanations of benefit)",
	"Coverage":             "insurance coverage",
	"Patient":              "basic details (name, birth date, contact information)",
	"Condition":            "conditions and diagnoses",
	"Observation":          "test results and measurements",
	"MedicationRequest":    "prescriptions",
	"AllergyIntolerance":   "allergies",
	"Immunization":         "immunizations",
	"Procedure":            "procedures",
	"Encounter":            "visits",
	"Practitioner":         "care providers",
	"Organization":         "organizations",
}

// ResourceTypeLabel is the friendly noun for a resource type, for members.
func ResourceTypeLabel(t string) string {
	if t == "*" {
		return "health plan records"
	}
	if l, ok := typeLabels[t]; ok {
		return l
	}
	return t + " records"
}

var specialText = map[string]string{
	"openid":         "Know who you are (your name and member record link)",
	"fhirUser":       "Know who you are (your name and member record link)",
	"profile":        "See your name",
	"launch/patient": "Know which member record you chose",
	"launch":         "Know which member record you chose",
	"offline_access": "Keep access when you are not using the app, until you revoke it",
	"online_access":  "Keep access while you are using the app",
}

// Describe says in plain words what a scope lets an app do, for the
// consent page, e.g. "Read and search your claims (explanations of benefit)".
func Describe(raw string) string {
	s, err := Parse(raw)
	if err != nil {
		return "Unrecognised permission: " + raw
	}
	if !s.IsResource() {
		if t, ok := specialText[s.Special]; ok {
			return t
		}
		return "Other permission: " + s.Special
	}
	noun := "your " + ResourceTypeLabel(s.ResourceType)
	if s.ResourceType == "*" {
		noun = "all of your health plan records"
	}
	if s.Context != ContextPatient {
		noun = ResourceTypeLabel(s.ResourceType) + " you can see"
		if s.Context == ContextSystem {
			noun = "any " + ResourceTypeLabel(s.ResourceType)
		}
	}
	text := verbs(s.Interactions) + " " + noun
	if s.Restricted() {
		text += " (only " + restriction(s) + ")"
	}
	return text
}

func verbs(i Interaction) string {
	var parts []string
	switch {
	case i&(Read|Search) == Read|Search:
		parts = append(parts, "read and search")
	case i&Read != 0:
		parts = append(parts, "read")
	case i&Search != 0:
		parts = append(parts, "search")
	}
	for _, v := range []struct {
		bit  Interaction
		verb string
	}{{Create, "add to"}, {Update, "change"}, {Delete, "delete"}} {
		if i&v.bit != 0 {
			parts = append(parts, v.verb)
		}
	}
	text := strings.Join(parts, ", ")
	return strings.ToUpper(text[:1]) + text[1:]
}

func restriction(s Scope) string {
	keys := make([]string, 0, len(s.Query))
	for k := range s.Query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range s.Query[k] {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ", ")
}

// Category is the stable key of the consent checkbox a scope belongs to:
// the resource type ("*" for a wildcard), or the scope itself for the rest.
func Category(raw string) string {
	s, err := Parse(raw)
	if err != nil {
		return raw
	}
	if s.IsResource() {
		return s.ResourceType
	}
	return s.Special
}
