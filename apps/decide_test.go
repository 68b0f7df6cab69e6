package apps

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

var adminJane = Actor{Kind: ActorAdmin, ID: "jane@plan.example", Name: "Jane Admin"}

// goodReg passes every automated criterion.
func goodReg() Registration {
	return Registration{Name: "Tracker", Developer: "Acme", ContactEmail: "security@acme.example",
		RedirectURIs: []string{"https://acme.example/cb"}, Scopes: []string{"launch/patient", "openid", "patient/*.rs"}}
}

// registered registers goodReg (edited) and moves it to status.
func registered(t *testing.T, reg *Registry, status Status, edit func(*Registration)) App {
	t.Helper()
	ctx := context.Background()
	in := goodReg()
	if edit != nil {
		edit(&in)
	}
	out, err := reg.Register(ctx, in, devActor)
	if err != nil {
		t.Fatal(err)
	}
	steps := map[Status][]DecisionRequest{
		StatusApproved:  {{Action: ActionApprove, Actor: adminJane, Override: "test"}},
		StatusDenied:    {{Action: ActionDeny, Actor: adminJane, Criteria: []string{CritImpersonation}, Evidence: "fake"}},
		StatusSuspended: {{Action: ActionApprove, Actor: adminJane, Override: "test"}, {Action: ActionSuspend, Actor: adminJane, Criteria: []string{CritCompromise}, Evidence: "leak"}},
	}
	app := out.App
	for _, d := range steps[status] {
		if app, err = reg.Decide(ctx, app.ClientID, d); err != nil {
			t.Fatal(err)
		}
	}
	return app
}

// TestDecide: each decision moves only from the statuses it names, needs
// what it needs, and is recorded with who, when, the criteria version,
// the criteria and the evidence; a refused decision changes nothing.
func TestDecide(t *testing.T) {
	deny := DecisionRequest{Action: ActionDeny, Actor: adminJane, Criteria: []string{CritImpersonation}, Evidence: "uses the plan's logo"}
	suspend := DecisionRequest{Action: ActionSuspend, Actor: adminJane, Criteria: []string{CritCompromise, CritAbusiveTraffic}, Evidence: "secret on GitHub"}
	with := func(d DecisionRequest, edit func(*DecisionRequest)) DecisionRequest {
		d.Criteria = slices.Clone(d.Criteria)
		edit(&d)
		return d
	}
	tests := []struct {
		name    string
		from    Status
		d       DecisionRequest
		want    Status
		wantErr error
		msg     string
	}{
		{"approve pending", StatusPending, DecisionRequest{Action: ActionApprove, Actor: adminJane, Note: "looks fine"}, StatusApproved, nil, ""},
		{"approve denied", StatusDenied, DecisionRequest{Action: ActionApprove, Actor: TokenActor}, StatusApproved, nil, ""},
		{"deny pending", StatusPending, deny, StatusDenied, nil, ""},
		{"suspend approved", StatusApproved, suspend, StatusSuspended, nil, ""},
		{"reinstate suspended", StatusSuspended, DecisionRequest{Action: ActionReinstate, Actor: adminJane}, StatusApproved, nil, ""},

		{"approve approved", StatusApproved, DecisionRequest{Action: ActionApprove, Actor: adminJane}, "", ErrConflict, "cannot approve an app that is approved"},
		{"approve suspended", StatusSuspended, DecisionRequest{Action: ActionApprove, Actor: adminJane}, "", ErrConflict, "cannot approve"},
		{"deny approved", StatusApproved, deny, "", ErrConflict, "cannot deny"},
		{"suspend pending", StatusPending, suspend, "", ErrConflict, "cannot suspend"},
		{"reinstate approved", StatusApproved, DecisionRequest{Action: ActionReinstate, Actor: adminJane}, "", ErrConflict, "cannot reinstate"},

		{"deny without criteria", StatusPending, with(deny, func(d *DecisionRequest) { d.Criteria = nil }), "", ErrInvalid, "cite at least one criterion"},
		{"suspend without evidence", StatusApproved, with(suspend, func(d *DecisionRequest) { d.Evidence = " " }), "", ErrInvalid, "give the evidence"},
		{"unknown criterion", StatusPending, with(deny, func(d *DecisionRequest) { d.Criteria = []string{"privacy-policy"} }), "", ErrInvalid, "not a criterion"},
		{"approve citing criteria", StatusPending, DecisionRequest{Action: ActionApprove, Actor: adminJane, Criteria: []string{CritContact}}, "", ErrInvalid, "cite no criteria"},
		{"no actor", StatusPending, with(deny, func(d *DecisionRequest) { d.Actor = Actor{} }), "", ErrInvalid, "actor kind"},
		{"actor without id", StatusPending, with(deny, func(d *DecisionRequest) { d.Actor = Actor{Kind: ActorAdmin} }), "", ErrInvalid, "needs an id"},
		{"unknown action", StatusPending, DecisionRequest{Action: "ban", Actor: adminJane}, "", ErrInvalid, "approve, deny, suspend or reinstate"},
		{"evidence too long", StatusPending, with(deny, func(d *DecisionRequest) { d.Evidence = strings.Repeat("x", maxEvidence+1) }), "", ErrInvalid, "longer than"},
		{"control characters", StatusPending, with(deny, func(d *DecisionRequest) { d.Evidence = "a\x1b[2Jb" }), "", ErrInvalid, "control characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg, st, now := newTestRegistry()
			ctx := context.Background()
			app := registered(t, reg, tc.from, nil)
			before := len(st.history)
			*now = t0.Add(time.Hour)
			got, err := reg.Decide(ctx, app.ClientID, tc.d)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("err = %v, want %v saying %q", err, tc.wantErr, tc.msg)
				}
				if s, _ := st.GetApp(ctx, app.ClientID); s.Status != tc.from || len(st.history) != before {
					t.Fatalf("a refused decision changed something: status %s, %d history entries (had %d)", s.Status, len(st.history), before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			stored, _ := st.GetApp(ctx, app.ClientID)
			if stored.Status != tc.want || got.Status != tc.want || !stored.UpdatedAt.Equal(*now) {
				t.Fatalf("status %s (returned %s) at %v, want %s", stored.Status, got.Status, stored.UpdatedAt, tc.want)
			}
			cuts := tc.want != StatusApproved
			if cuts != stored.TokensValidAfter.After(*now) {
				t.Errorf("TokensValidAfter = %v at %v; cut off expected: %v", stored.TokensValidAfter, *now, cuts)
			}
			e := st.history[len(st.history)-1]
			want := HistoryEntry{ClientID: app.ClientID, At: *now, Actor: tc.d.Actor, Action: tc.d.Action, From: tc.from, To: tc.want,
				CriteriaVersion: CriteriaVersion, Criteria: tc.d.Criteria, Evidence: tc.d.Evidence, Note: tc.d.Note, ChecksPassed: !cuts}
			if cuts {
				want.Criteria = tc.d.Criteria
			} else {
				want.Criteria = nil
			}
			if !equalEntry(e, want) {
				t.Errorf("history entry\n got %+v\nwant %+v", e, want)
			}
			ev := st.events[len(st.events)-1]
			if ev.Action != "app."+string(tc.d.Action) || ev.Actor != tc.d.Actor.String() || ev.ClientID != app.ClientID {
				t.Errorf("audit event %+v", ev)
			}
		})
	}
}

func equalEntry(a, b HistoryEntry) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestApproveNeedsPassingChecks: an approval runs the automated checks; it
// is refused while one fails unless the admin gives an override reason,
// which the history records with the failed criteria.
func TestApproveNeedsPassingChecks(t *testing.T) {
	reg, st, _ := newTestRegistry()
	ctx := context.Background()
	app := registered(t, reg, StatusPending, func(r *Registration) { r.ContactEmail = "" })
	_, err := reg.Decide(ctx, app.ClientID, DecisionRequest{Action: ActionApprove, Actor: adminJane})
	if !errors.Is(err, ErrChecksFailed) || !strings.Contains(err.Error(), CritContact) {
		t.Fatalf("approve with a failing check: %v", err)
	}
	if s, _ := st.GetApp(ctx, app.ClientID); s.Status != StatusPending {
		t.Fatalf("status %s after a refused approval", s.Status)
	}
	got, err := reg.Decide(ctx, app.ClientID, DecisionRequest{Action: ActionApprove, Actor: adminJane, Override: "email given by phone"})
	if err != nil || got.Status != StatusApproved {
		t.Fatalf("approve with override: %v", err)
	}
	e := st.history[len(st.history)-1]
	if e.ChecksPassed || e.Override != "email given by phone" || !slices.Equal(e.Criteria, []string{CritContact}) {
		t.Fatalf("overridden approval recorded as %+v", e)
	}
	if c, err := reg.Checks(ctx, app.ClientID); err != nil || !slices.Equal(c.Failed(), []string{CritContact}) {
		t.Fatalf("stored checks %+v, %v", c, err)
	}
}

// TestAutoApprove: with the policy on, an app whose automated checks all
// pass is approved at registration by the policy actor; one that fails a
// check waits for an admin. With the policy off nothing is approved.
func TestAutoApprove(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy bool
		edit   func(*Registration)
		want   Status
	}{
		{"passes", true, nil, StatusApproved},
		{"fails a check", true, func(r *Registration) { r.Developer = "" }, StatusPending},
		{"policy off", false, nil, StatusPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, st, _ := newTestRegistry()
			reg.AutoApprove = tc.policy
			app := registered(t, reg, StatusPending, tc.edit)
			if app.Status != tc.want {
				t.Fatalf("status %s, want %s", app.Status, tc.want)
			}
			var actions []string
			for _, e := range st.history {
				actions = append(actions, string(e.Action)+" by "+e.Actor.String())
			}
			want := []string{"register by developer:dev-1"}
			if tc.want == StatusApproved {
				want = append(want, "approve by policy:auto-approve")
			}
			if !slices.Equal(actions, want) {
				t.Fatalf("history %v, want %v", actions, want)
			}
		})
	}
}

// TestUpdate: an update re-runs the checks; an approved app that changes
// its redirect URIs or keys goes back to review, other changes keep its
// status; the client type cannot change; an update without answers keeps
// the attestation, a new one clears a stale mark.
func TestUpdate(t *testing.T) {
	ctx := context.Background()
	t.Run("redirect URIs send an approved app back to review", func(t *testing.T) {
		reg, st, _ := newTestRegistry()
		app := registered(t, reg, StatusApproved, nil)
		in := goodReg()
		in.RedirectURIs = []string{"https://acme.example/new-cb"}
		got, err := reg.Update(ctx, app.ClientID, in, devActor)
		if err != nil || got.Status != StatusPending {
			t.Fatalf("Update = %s, %v; want pending", got.Status, err)
		}
		if got.TokensValidAfter.After(app.TokensValidAfter) {
			t.Error("going back to review cut off the members' grants")
		}
		e := st.history[len(st.history)-1]
		if e.Action != ActionUpdate || e.From != StatusApproved || e.To != StatusPending || !strings.Contains(e.Note, "redirect_uris") {
			t.Fatalf("history %+v", e)
		}
	})
	t.Run("with auto-approve it comes back when the checks pass", func(t *testing.T) {
		reg, _, _ := newTestRegistry()
		app := registered(t, reg, StatusApproved, nil)
		reg.AutoApprove = true
		in := goodReg()
		in.RedirectURIs = []string{"https://acme.example/new-cb"}
		if got, err := reg.Update(ctx, app.ClientID, in, devActor); err != nil || got.Status != StatusApproved {
			t.Fatalf("Update = %s, %v; want approved again by the policy", got.Status, err)
		}
	})
	t.Run("a description keeps the status and re-runs the checks", func(t *testing.T) {
		reg, st, now := newTestRegistry()
		app := registered(t, reg, StatusApproved, nil)
		*now = t0.Add(time.Hour)
		in := goodReg()
		in.Description, in.ContactEmail = "Now with charts.", ""
		got, err := reg.Update(ctx, app.ClientID, in, devActor)
		if err != nil || got.Status != StatusApproved || got.Description != "Now with charts." {
			t.Fatalf("Update = %+v, %v", got, err)
		}
		if c, _ := st.GetChecks(ctx, app.ClientID); !c.RanAt.Equal(*now) || !slices.Equal(c.Failed(), []string{CritContact}) {
			t.Fatalf("checks after the update: %+v", c)
		}
	})
	t.Run("client type", func(t *testing.T) {
		reg, _, _ := newTestRegistry()
		app := registered(t, reg, StatusPending, nil)
		in := goodReg()
		in.Public = true
		if _, err := reg.Update(ctx, app.ClientID, in, devActor); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "client type") {
			t.Fatalf("changing the client type: %v", err)
		}
	})
	t.Run("attestation", func(t *testing.T) {
		reg, _, now := newTestRegistry()
		app := registered(t, reg, StatusApproved, func(r *Registration) { r.Attestation = AttestAll(true, "Dana", time.Time{}) })
		if app, _ = reg.PolicyChanged(ctx, app.ClientID, t0.Add(time.Minute), "privacy policy changed"); !app.Attestation.Stale() {
			t.Fatal("the attestation is not stale after the policy changed")
		}
		got, err := reg.Update(ctx, app.ClientID, goodReg(), devActor)
		if err != nil || got.Attestation.Status() != AttestationAttested || !got.Attestation.Stale() {
			t.Fatalf("an update without answers changed the attestation: %+v, %v", got.Attestation, err)
		}
		*now = t0.Add(time.Hour)
		in := goodReg()
		in.Attestation = AttestAll(true, "Dana", time.Time{})
		got, err = reg.Update(ctx, app.ClientID, in, devActor)
		if err != nil || got.Attestation.Stale() || !got.Attestation.At.Equal(*now) {
			t.Fatalf("a new attestation did not clear the stale mark: %+v, %v", got.Attestation, err)
		}
	})
}

// TestDeleteAndRegistrationToken: the registration access token works in
// constant time for its app only; deleting the app cuts its tokens, ends
// the registration token and keeps the record and history.
func TestDeleteAndRegistrationToken(t *testing.T) {
	reg, st, now := newTestRegistry()
	ctx := context.Background()
	in := goodReg()
	in.RegistrationToken = true
	out, err := reg.Register(ctx, in, devActor)
	if err != nil || out.RegistrationToken == "" || !SecretMatches(out.App.RegistrationTokenHash, out.RegistrationToken) {
		t.Fatalf("Register = %+v, %v", out, err)
	}
	other, _ := reg.Register(ctx, goodReg(), devActor)
	id := out.App.ClientID
	if _, err := reg.CheckRegistrationToken(ctx, id, out.RegistrationToken); err != nil {
		t.Fatalf("the token does not work: %v", err)
	}
	for name, c := range map[string][2]string{
		"wrong token": {id, out.RegistrationToken + "x"}, "empty": {id, ""}, "unknown app": {"nope", out.RegistrationToken},
		"app without a token": {other.App.ClientID, out.RegistrationToken},
	} {
		if _, err := reg.CheckRegistrationToken(ctx, c[0], c[1]); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	*now = t0.Add(time.Hour)
	got, err := reg.Delete(ctx, id, devActor)
	if err != nil || got.Status != StatusDeleted || !got.TokensValidAfter.After(*now) {
		t.Fatalf("Delete = %+v, %v", got, err)
	}
	if _, err := reg.CheckRegistrationToken(ctx, id, out.RegistrationToken); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the token works after deletion: %v", err)
	}
	if _, err := reg.Delete(ctx, id, devActor); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := reg.Decide(ctx, id, DecisionRequest{Action: ActionApprove, Actor: adminJane}); !errors.Is(err, ErrConflict) {
		t.Fatalf("approve a deleted app: %v", err)
	}
	if h, _ := st.ListHistory(ctx, id); len(h) != 2 || h[1].Action != ActionDelete || h[1].From != StatusPending {
		t.Fatalf("history %+v", h)
	}
}

// TestPolicyChanged: the policy watch's finding is recorded on the app
// (for the consent page), makes an earlier attestation stale, and is in
// the history by the watch actor.
func TestPolicyChanged(t *testing.T) {
	reg, st, _ := newTestRegistry()
	ctx := context.Background()
	app := registered(t, reg, StatusApproved, func(r *Registration) { r.Attestation = AttestAll(true, "Dana", time.Time{}) })
	at := t0.Add(24 * time.Hour)
	got, err := reg.PolicyChanged(ctx, app.ClientID, at, "privacy policy changed")
	if err != nil || !got.PolicyChangedAt.Equal(at) || !got.Attestation.StaleSince.Equal(at) || got.Status != StatusApproved {
		t.Fatalf("PolicyChanged = %+v, %v", got, err)
	}
	later := at.Add(time.Hour)
	got, _ = reg.PolicyChanged(ctx, app.ClientID, later, "terms changed")
	if !got.PolicyChangedAt.Equal(later) || !got.Attestation.StaleSince.Equal(at) {
		t.Fatalf("a second change moved the stale mark: %+v", got)
	}
	e := st.history[len(st.history)-1]
	if e.Action != ActionPolicyChange || e.Actor != WatchActor || e.Note != "terms changed" {
		t.Fatalf("history %+v", e)
	}
	unattested := registered(t, reg, StatusApproved, nil)
	got, _ = reg.PolicyChanged(ctx, unattested.ClientID, at, "privacy policy changed")
	if got.Attestation.Stale() {
		t.Fatal("an app that never attested got a stale attestation")
	}
}

// TestReportAndSearch: the report lists the decisions of a criteria
// version over every app and nothing else; search filters by status,
// attestation, text, registrant and failed checks.
func TestReportAndSearch(t *testing.T) {
	reg, st, _ := newTestRegistry()
	ctx := context.Background()
	a := registered(t, reg, StatusSuspended, nil)
	b := registered(t, reg, StatusDenied, func(r *Registration) {
		r.Name, r.ContactEmail, r.RedirectURIs = "Wallet", "", []string{"https://wallet.example/cb"}
		r.Attestation = AttestAll(true, "W", time.Time{})
	})
	_ = st.AppendHistory(ctx, HistoryEntry{ClientID: b.ClientID, Action: ActionApprove, CriteriaVersion: "2020-01.1", Actor: adminJane})
	rep, err := reg.Report(ctx, CriteriaVersion)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rep {
		got = append(got, e.ClientID[:4]+":"+string(e.Action))
	}
	want := []string{a.ClientID[:4] + ":approve", a.ClientID[:4] + ":suspend", b.ClientID[:4] + ":deny"}
	if !slices.Equal(got, want) {
		t.Fatalf("report %v, want %v", got, want)
	}
	if all, _ := reg.Report(ctx, ""); len(all) != 4 {
		t.Fatalf("report of every version has %d decisions, want 4", len(all))
	}
	search := func(f Filter) []string {
		list, err := reg.Search(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range list {
			ids = append(ids, x.ClientID)
		}
		return ids
	}
	for name, c := range map[string]struct {
		f    Filter
		want []string
	}{
		"all":         {Filter{}, []string{a.ClientID, b.ClientID}},
		"status":      {Filter{Status: StatusDenied}, []string{b.ClientID}},
		"attestation": {Filter{Attestation: AttestationNone}, []string{a.ClientID}},
		"text":        {Filter{Query: "WALLET.example"}, []string{b.ClientID}},
		"registrant":  {Filter{RegisteredBy: &devActor}, []string{a.ClientID, b.ClientID}},
		"other":       {Filter{RegisteredBy: &adminJane}, nil},
		"failed":      {Filter{ChecksFailed: true}, []string{b.ClientID}},
	} {
		if got := search(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}

// TestAttestationJSON: an app stored with the old single value reads as
// answers to every question; the new form round-trips.
func TestAttestationJSON(t *testing.T) {
	for word, want := range map[string]AttestationStatus{`"attested"`: AttestationAttested, `"declined"`: AttestationDeclined, `"none"`: AttestationNone, `""`: AttestationNone} {
		var a App
		if err := json.Unmarshal([]byte(`{"client_id":"x","attestation":`+word+`}`), &a); err != nil || a.Attestation.Status() != want {
			t.Errorf("old %s read as %+v (%v), want %s", word, a.Attestation, err, want)
		}
	}
	var a App
	if err := json.Unmarshal([]byte(`{"attestation":"maybe"}`), &a); err == nil {
		t.Error("an unknown old value was accepted")
	}
	in := Attestation{Answers: map[string]bool{QuestionPolicy: true, QuestionDevice: false}, By: "Dana", At: t0, StaleSince: t0.Add(time.Hour)}
	b, _ := json.Marshal(in)
	var out Attestation
	if err := json.Unmarshal(b, &out); err != nil || out.Answer(QuestionPolicy) != "yes" || out.Answer(QuestionDevice) != "no" ||
		out.Answer(QuestionUses) != "" || out.By != "Dana" || !out.StaleSince.Equal(in.StaleSince) || out.Status() != AttestationDeclined {
		t.Fatalf("round trip %s → %+v, %v", b, out, err)
	}
	if len(Questions()) != 5 {
		t.Fatalf("%d questions, want the five of CMS-9115-F practice", len(Questions()))
	}
}
