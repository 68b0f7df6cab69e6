package smart

import (
	"sort"
	"strings"
)

// Labeler returns the plain-words noun members read for a resource type,
// "" when it has none. The gateway's FHIR catalog is the one home of these
// words; the authorization server passes them in.
type Labeler func(resourceType string) string

// label is the noun for t: "health plan records" for "*", the Labeler's
// words, or "<Type> records" for a type it has no words for.
func (l Labeler) label(t string) string {
	if t == "*" {
		return "health plan records"
	}
	if l != nil {
		if s := l(t); s != "" {
			return s
		}
	}
	return t + " records"
}

// specialText is the plain-words text of the non-resource scopes SMART App
// Launch 2.x defines; ok is false for any other scope.
func specialText(scope string) (text string, ok bool) {
	switch scope {
	case "openid", "fhirUser":
		return "Know who you are (your name and member record link)", true
	case "profile":
		return "See your name", true
	case "launch", "launch/patient":
		return "Know which member record you chose", true
	case "launch/encounter":
		return "Know which visit you chose", true
	case "offline_access":
		return "Keep access when you are not using the app, until you revoke it", true
	case "online_access":
		return "Keep access while you are using the app", true
	}
	return "", false
}

// Describe says in plain words what a scope lets an app do, for the
// consent page: "Read and search your claims (explanations of benefit)",
// "Read and search all of your health plan records", "Know which member
// record you chose", with resource types named by labels. A search
// restriction is appended as " (only k=v)".
func Describe(raw string, labels Labeler) string {
	s, err := Parse(raw)
	if err != nil {
		return "Unrecognised permission: " + raw
	}
	if !s.IsResource() {
		if t, ok := specialText(s.Special); ok {
			return t
		}
		return "Other permission: " + s.Special
	}
	text := verbs(effective(s)) + " " + noun(s, labels)
	if s.Restricted() {
		text += " (only " + restriction(s) + ")"
	}
	return text
}

// effective folds search into read where the two mean the same to a
// member: in patient context, searching Patient finds only their own record.
func effective(s Scope) Interaction {
	i := s.Interactions
	if s.Context == ContextPatient && s.ResourceType == "Patient" && i&Search != 0 {
		i = i&^Search | Read
	}
	return i
}

// noun is whose records the scope reaches, in the words of its context.
func noun(s Scope, labels Labeler) string {
	label := labels.label(s.ResourceType)
	switch {
	case s.Context == ContextPatient && s.ResourceType == "*":
		return "all of your " + label
	case s.Context == ContextPatient:
		return "your " + label
	case s.Context == ContextUser:
		return label + " you can see"
	default:
		return "any " + label
	}
}

// verbs lists what the interactions let an app do, capitalised, e.g.
// "Read and search" or "Read, search, add to, change and delete".
func verbs(i Interaction) string {
	var parts []string
	for _, v := range []struct {
		bit  Interaction
		verb string
	}{{Read, "read"}, {Search, "search"}, {Create, "add to"}, {Update, "change"}, {Delete, "delete"}} {
		if i&v.bit != 0 {
			parts = append(parts, v.verb)
		}
	}
	if len(parts) == 0 {
		return "Nothing on"
	}
	text := parts[len(parts)-1]
	if len(parts) > 1 {
		text = strings.Join(parts[:len(parts)-1], ", ") + " and " + text
	}
	return strings.ToUpper(text[:1]) + text[1:]
}

// restriction renders a search restriction as "k=v, k2=v2", keys sorted.
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
// the resource type ("*" for a wildcard) of a resource scope, the scope
// itself for any other scope, and raw unchanged if it does not parse.
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
