package apps

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrConflict marks a decision the app's status does not allow (suspending
// an app that is not approved, reinstating one that is not suspended).
var ErrConflict = errors.New("apps: not allowed in the app's status")

// ErrChecksFailed marks an approval refused because an automated criterion
// failed and no override reason was given; the error lists the criteria.
var ErrChecksFailed = errors.New("apps: automated criteria failed")

// Bounds of the text of a decision.
const (
	maxEvidence = 4000 // bytes
	maxNote     = 1000 // bytes, also the override reason
)

// DecisionRequest is a decision about an app, by an actor.
type DecisionRequest struct {
	// Action is ActionApprove (pending or denied → approved), ActionDeny
	// (pending → denied), ActionSuspend (approved → suspended) or
	// ActionReinstate (suspended → approved).
	Action Action
	Actor  Actor
	// Criteria are the ids of the criteria a denial or suspension cites:
	// at least one, of the current catalog.
	Criteria []string
	// Evidence is what the admin found; required to deny or suspend.
	Evidence string
	// Override is why an app that fails an automated criterion is approved
	// or reinstated anyway; without it such an approval is refused.
	Override string
	// Note is an optional remark for the history.
	Note string
}

// transitions lists, per decision, the statuses it may start from and the
// status it sets.
var transitions = map[Action]struct {
	from []Status
	to   Status
}{
	ActionApprove:   {[]Status{StatusPending, StatusDenied}, StatusApproved},
	ActionDeny:      {[]Status{StatusPending}, StatusDenied},
	ActionSuspend:   {[]Status{StatusApproved}, StatusSuspended},
	ActionReinstate: {[]Status{StatusSuspended}, StatusApproved},
}

// validate checks the request's own content, or returns an error wrapping
// ErrInvalid.
func (d *DecisionRequest) validate() error {
	if _, ok := transitions[d.Action]; !ok {
		return fmt.Errorf("%w: the decision must be approve, deny, suspend or reinstate, not %q", ErrInvalid, d.Action)
	}
	if err := d.Actor.validate(); err != nil {
		return err
	}
	d.Evidence, d.Override, d.Note = strings.TrimSpace(d.Evidence), strings.TrimSpace(d.Override), strings.TrimSpace(d.Note)
	var p []string
	if d.Action == ActionDeny || d.Action == ActionSuspend {
		if len(d.Criteria) == 0 {
			p = append(p, fmt.Sprintf("to %s an app, cite at least one criterion id", d.Action))
		}
		if d.Evidence == "" {
			p = append(p, fmt.Sprintf("to %s an app, give the evidence", d.Action))
		}
		for _, id := range d.Criteria {
			if _, ok := CriterionByID(id); !ok {
				p = append(p, fmt.Sprintf("%q is not a criterion of version %s", id, CriteriaVersion))
			}
		}
	} else if len(d.Criteria) > 0 {
		p = append(p, "approve and reinstate cite no criteria: give an override reason if a check failed")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"evidence", d.Evidence, maxEvidence}, {"override", d.Override, maxNote}, {"note", d.Note, maxNote}} {
		if len(f.v) > f.max {
			p = append(p, fmt.Sprintf("%s is longer than %d bytes", f.name, f.max))
		}
		if strings.ContainsFunc(f.v, func(r rune) bool { return r != '\n' && r != '\t' && hasControl(string(r)) }) {
			p = append(p, f.name+" contains control characters")
		}
	}
	return errList(p)
}

// Decide applies a decision to an app and appends it to the app's history
// with the actor, the criteria version, the cited criteria and the
// evidence, and audits it as "app.<action>".
//
// Approving or reinstating runs every automated check first and stores the
// results: the decision records that all passed, or is refused with an
// error wrapping ErrChecksFailed unless it gives an Override reason, which
// it records with the failed criteria. Denial and suspension cut off every
// grant made up to now. A decision the app's status does not allow is
// refused with an error wrapping ErrConflict; the status is judged inside
// the store's compare-and-set, so racing decisions apply in some order and
// never to a status they did not see. The decision is stored before its
// history entry; if only that write fails, Decide returns the updated app
// together with an error wrapping ErrNotAudited.
func (r *Registry) Decide(ctx context.Context, clientID string, d DecisionRequest) (App, error) {
	if err := d.validate(); err != nil {
		return App{}, err
	}
	rule := transitions[d.Action]
	entry := HistoryEntry{ClientID: clientID, Actor: d.Actor, Action: d.Action, To: rule.to,
		CriteriaVersion: CriteriaVersion, Criteria: slices.Clone(d.Criteria), Evidence: d.Evidence, Note: d.Note}
	if rule.to == StatusApproved {
		checks, err := r.RunChecks(ctx, clientID)
		if err != nil {
			return App{}, fmt.Errorf("decide app: %w", err)
		}
		failed := checks.Failed()
		if len(failed) > 0 && d.Override == "" {
			return App{}, fmt.Errorf("%w: %s; fix them, or give an override reason", ErrChecksFailed, strings.Join(failed, ", "))
		}
		entry.ChecksPassed, entry.Criteria = len(failed) == 0, failed
		if len(failed) > 0 {
			entry.Override = d.Override
		}
	}
	now := r.now()
	entry.At = now
	// A compare-and-set on the app: a decision racing another applies to
	// what the other stored, so a suspension's TokensValidAfter is never
	// overwritten by an approval that read the app before it.
	app, err := r.Store.UpdateApp(ctx, clientID, func(app App) (App, error) {
		if !slices.Contains(rule.from, app.Status) {
			return app, fmt.Errorf("%w: cannot %s an app that is %s", ErrConflict, d.Action, app.Status)
		}
		entry.From = app.Status
		app.Status, app.StatusReason, app.UpdatedAt = rule.to, cmp.Or(d.Evidence, d.Override, d.Note), now
		if rule.to != StatusApproved {
			cutTokens(&app, now)
		}
		return app, nil
	})
	if err != nil {
		return App{}, fmt.Errorf("decide app: %w", err)
	}
	return app, r.log(ctx, entry, app.StatusReason)
}

// cutTokens makes every grant made up to now unusable for good.
func cutTokens(app *App, now time.Time) {
	// Strictly after now, so a grant made in the same clock tick as the
	// decision is cut off too (the check is CreatedAt.Before).
	if cut := now.Add(time.Nanosecond); cut.After(app.TokensValidAfter) {
		app.TokensValidAfter = cut
	}
}

// Update replaces a registration's details (not its client type or
// credentials) on behalf of by: its developer through RFC 7592 or the
// portal, or an admin. It re-runs the checks. An approved app whose
// redirect URIs or keys change goes back to pending, to be reviewed again
// (or auto-approved when the policy is on and every check passes): while
// it waits its tokens do not work, and its members' grants work again once
// it is approved. Any other change leaves the status as it is. A new
// attestation clears a stale one.
func (r *Registry) Update(ctx context.Context, clientID string, reg Registration, by Actor) (App, error) {
	if err := by.validate(); err != nil {
		return App{}, err
	}
	if err := reg.Validate(); err != nil {
		return App{}, err
	}
	now := r.now()
	entry := HistoryEntry{ClientID: clientID, At: now, Actor: by, Action: ActionUpdate, CriteriaVersion: CriteriaVersion}
	if len(reg.Logo) > 0 {
		if err := r.Store.PutAppLogo(ctx, clientID, reg.Logo); err != nil {
			return App{}, fmt.Errorf("update app: logo: %w", err)
		}
	}
	app, err := r.Store.UpdateApp(ctx, clientID, func(app App) (App, error) {
		if app.Status == StatusDeleted {
			return app, fmt.Errorf("%w: the app was deleted", ErrNotFound)
		}
		next := app
		reg.apply(&next, by, now)
		if next.AuthMethod() != app.AuthMethod() {
			return app, fmt.Errorf("%w: the client type cannot change (%s to %s): register a new app", ErrInvalid, app.ClientType(), next.ClientType())
		}
		if len(reg.Attestation.Answers) == 0 && app.Attestation.Status() != AttestationNone {
			next.Attestation = app.Attestation // not re-attested: keep the answers
		}
		entry.Note = "changed: " + strings.Join(changedFields(app, next), ", ")
		entry.From, entry.To = app.Status, app.Status
		if app.Status == StatusApproved && (!slices.Equal(app.RedirectURIs, next.RedirectURIs) ||
			string(app.JWKS) != string(next.JWKS) || app.JWKSURI != next.JWKSURI) {
			next.Status, entry.To = StatusPending, StatusPending
			entry.Note += "; back to review: redirect URIs or keys changed"
		}
		next.UpdatedAt = now
		return next, nil
	})
	if err != nil {
		return App{}, fmt.Errorf("update app: %w", err)
	}
	checks, err := r.runChecks(ctx, app)
	if err != nil {
		return app, fmt.Errorf("%w: update app: %w", ErrNotAudited, err)
	}
	entry.Criteria, entry.ChecksPassed = checks.Failed(), checks.Passed()
	if err := r.log(ctx, entry, ""); err != nil {
		return app, err
	}
	if r.AutoApprove && entry.From == StatusApproved && entry.To == StatusPending && checks.Passed() {
		approved, err := r.Decide(ctx, clientID, DecisionRequest{Action: ActionApprove, Actor: PolicyActor,
			Note: "every automated criterion passed after an update"})
		if err != nil {
			return app, fmt.Errorf("%w: update app: auto-approve: %w", ErrNotAudited, err)
		}
		app = approved
	}
	return app, nil
}

// changedFields names the registration fields that differ between a and b.
func changedFields(a, b App) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	add("name", a.Name != b.Name)
	add("description", a.Description != b.Description)
	add("developer", a.Developer != b.Developer)
	add("contacts", a.ContactEmail != b.ContactEmail || a.ContactPhone != b.ContactPhone)
	add("redirect_uris", !slices.Equal(a.RedirectURIs, b.RedirectURIs))
	add("scopes", !slices.Equal(a.Scopes, b.Scopes))
	add("links", a.PrivacyPolicyURL != b.PrivacyPolicyURL || a.TermsURL != b.TermsURL || a.WebsiteURL != b.WebsiteURL || a.LogoURI != b.LogoURI)
	add("webhook_url", a.WebhookURL != b.WebhookURL)
	add("keys", string(a.JWKS) != string(b.JWKS) || a.JWKSURI != b.JWKSURI)
	add("attestation", !a.Attestation.At.Equal(b.Attestation.At))
	if len(out) == 0 {
		return []string{"nothing"}
	}
	return out
}

// Delete ends a registration on behalf of by (RFC 7592 §2.3): the app is
// marked deleted, every grant made up to now is cut off and its
// registration access token stops working. The record and its history
// stay, for the auditor.
func (r *Registry) Delete(ctx context.Context, clientID string, by Actor) (App, error) {
	if err := by.validate(); err != nil {
		return App{}, err
	}
	now := r.now()
	entry := HistoryEntry{ClientID: clientID, At: now, Actor: by, Action: ActionDelete, To: StatusDeleted}
	app, err := r.Store.UpdateApp(ctx, clientID, func(app App) (App, error) {
		if app.Status == StatusDeleted {
			return app, fmt.Errorf("%w: the app was deleted", ErrNotFound)
		}
		entry.From = app.Status
		app.Status, app.UpdatedAt, app.RegistrationTokenHash = StatusDeleted, now, nil
		cutTokens(&app, now)
		return app, nil
	})
	if err != nil {
		return App{}, fmt.Errorf("delete app: %w", err)
	}
	return app, r.log(ctx, entry, "")
}

// CheckRegistrationToken returns the app if token is its RFC 7592
// registration access token, compared in constant time. Any mismatch, an
// app without a token, a deleted or unknown app is ErrNotFound, so the
// answer tells nothing about which.
func (r *Registry) CheckRegistrationToken(ctx context.Context, clientID, token string) (App, error) {
	app, err := r.Store.GetApp(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		// Compare anyway, so an unknown client id takes as long.
		subtle.ConstantTimeCompare(HashSecret(token), HashSecret(""))
		return App{}, fmt.Errorf("registration token: %w", ErrNotFound)
	}
	if err != nil {
		return App{}, fmt.Errorf("registration token: %w", err)
	}
	if len(app.RegistrationTokenHash) == 0 || token == "" || !SecretMatches(app.RegistrationTokenHash, token) {
		return App{}, fmt.Errorf("registration token: %w", ErrNotFound)
	}
	return app, nil
}

// PolicyChanged records that the policy watch saw the app's privacy policy
// or terms change at the given time: members are told at consent
// (App.PolicyChangedAt), an attestation given before becomes stale, and
// the app's history and the audit trail say what changed for admins.
func (r *Registry) PolicyChanged(ctx context.Context, clientID string, at time.Time, what string) (App, error) {
	entry := HistoryEntry{ClientID: clientID, At: r.now(), Actor: WatchActor, Action: ActionPolicyChange, Note: what}
	app, err := r.Store.UpdateApp(ctx, clientID, func(app App) (App, error) {
		entry.From, entry.To = app.Status, app.Status
		app.PolicyChangedAt = at
		if app.Attestation.Status() != AttestationNone && !app.Attestation.Stale() && !app.Attestation.At.After(at) {
			app.Attestation = app.Attestation.clone()
			app.Attestation.StaleSince = at
		}
		return app, nil
	})
	if err != nil {
		return App{}, fmt.Errorf("policy changed: %w", err)
	}
	return app, r.log(ctx, entry, what)
}

// log appends the entry to the app's history and audits it as
// "app.<action>" with the actor; a failure of either wraps ErrNotAudited.
func (r *Registry) log(ctx context.Context, e HistoryEntry, reason string) error {
	if err := r.Store.AppendHistory(ctx, e); err != nil {
		return fmt.Errorf("%w: app.%s history: %w", ErrNotAudited, e.Action, err)
	}
	return r.record(ctx, Event{Action: "app." + string(e.Action), ClientID: e.ClientID, Reason: reason, Actor: e.Actor.String()})
}
