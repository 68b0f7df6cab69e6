package apps

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Actor is who made a change: a person signed in as an admin, the shared
// admin bearer token (automation), the auto-approve policy, a developer
// (portal or RFC 7591), or the gateway itself (the policy watch).
type Actor struct {
	Kind ActorKind `json:"kind"`
	// ID names the actor for good: an admin's subject or account name, a
	// developer account or registration, "admin-token", "auto-approve".
	ID string `json:"id"`
	// Name is how pages show the actor (a person's name); may be empty.
	Name string `json:"name,omitempty"`
}

// ActorKind says what kind of actor made a change.
type ActorKind string

// The actor kinds.
const (
	ActorAdmin     ActorKind = "admin"     // a person signed in to the admin console
	ActorToken     ActorKind = "token"     // the admin API's bearer token
	ActorPolicy    ActorKind = "policy"    // the auto-approve policy
	ActorDeveloper ActorKind = "developer" // an app developer (portal account or RFC 7591 registration)
	ActorSystem    ActorKind = "system"    // the gateway itself (policy watch)
)

// Well-known actors.
var (
	// TokenActor is the admin API's bearer token.
	TokenActor = Actor{Kind: ActorToken, ID: "admin-token", Name: "admin API token"}
	// PolicyActor is the auto-approve policy.
	PolicyActor = Actor{Kind: ActorPolicy, ID: "auto-approve", Name: "auto-approve policy"}
	// WatchActor is the policy watch.
	WatchActor = Actor{Kind: ActorSystem, ID: "policy-watch", Name: "policy watch"}
)

// String returns "kind:id", the actor as the audit trail records it.
func (a Actor) String() string { return string(a.Kind) + ":" + a.ID }

// validate reports what is wrong with the actor.
func (a Actor) validate() error {
	switch a.Kind {
	case ActorAdmin, ActorToken, ActorPolicy, ActorDeveloper, ActorSystem:
	default:
		return fmt.Errorf("%w: actor kind must be admin, token, policy, developer or system, not %q", ErrInvalid, a.Kind)
	}
	if strings.TrimSpace(a.ID) == "" {
		return fmt.Errorf("%w: the actor needs an id", ErrInvalid)
	}
	if p := append(checkText("actor id", a.ID, true), checkText("actor name", a.Name, false)...); len(p) > 0 {
		return errList(p)
	}
	return nil
}

// Action is what a history entry records.
type Action string

// The actions of an app's history. Approve, deny, suspend and reinstate
// are decisions (Action.Decision); the others record what else happened
// to the app.
const (
	ActionRegister     Action = "register"      // the app was registered (pending)
	ActionUpdate       Action = "update"        // its developer changed the registration
	ActionApprove      Action = "approve"       // pending or denied → approved
	ActionDeny         Action = "deny"          // pending → denied
	ActionSuspend      Action = "suspend"       // approved → suspended; every token cut off
	ActionReinstate    Action = "reinstate"     // suspended → approved; old tokens stay dead
	ActionPolicyChange Action = "policy_change" // the policy watch saw the privacy policy or terms change
	ActionDelete       Action = "delete"        // its developer deleted it (RFC 7592)
)

// Decision reports whether the action is one of the plan's decisions.
func (a Action) Decision() bool {
	switch a {
	case ActionApprove, ActionDeny, ActionSuspend, ActionReinstate:
		return true
	}
	return false
}

// HistoryEntry is one line of an app's history. History is append-only:
// entries are never changed or removed, so it shows who decided what,
// when, under which criteria and on what evidence.
type HistoryEntry struct {
	ClientID string    `json:"client_id"`
	At       time.Time `json:"at"`
	Actor    Actor     `json:"actor"`
	Action   Action    `json:"action"`
	From     Status    `json:"from,omitempty"` // the status before
	To       Status    `json:"to,omitempty"`   // the status after
	// CriteriaVersion is the catalog version the decision was made under.
	CriteriaVersion string `json:"criteria_version,omitempty"`
	// Criteria are the criterion ids a denial or suspension cites, or the
	// automated criteria an overridden approval did not pass.
	Criteria []string `json:"criteria,omitempty"`
	// Evidence is what the admin found (a denial or suspension needs it).
	Evidence string `json:"evidence,omitempty"`
	// ChecksPassed records that every automated criterion passed when the
	// app was approved or reinstated.
	ChecksPassed bool `json:"checks_passed,omitempty"`
	// Override is why an admin approved an app that did not pass every
	// automated criterion.
	Override string `json:"override,omitempty"`
	Note     string `json:"note,omitempty"`
}

func copyEntry(e HistoryEntry) HistoryEntry {
	e.Criteria = slices.Clone(e.Criteria)
	return e
}
