package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/internal/nodetest"
)

// consoleReport is what js/console-pages.mjs saw.
type consoleReport struct {
	Pages    map[string]pageCheck
	Queue    []string
	Approved struct{ Notice, Status string }
	Registry []string
	// CallBefore and CallAfter are the app's FHIR calls before and right
	// after the suspension; CallAfterMs how long after the suspension
	// answered the refused call came back.
	CallBefore, CallAfter struct{ Status int }
	CallAfterMs           int
	Suspended             struct{ Notice, Status string }
	ReportRows            int
	Registered            string
	External              []string
}

type pageCheck struct {
	Path, Lang, Title string
	Violations        []struct {
		Width, ID, Impact, Help string
		Nodes                   []string
	}
}

// TestConsolePagesInChromium: in headless Chromium an admin signs in to
// the console, opens the review queue and a pending app, approves it,
// filters and searches the registry, suspends an approved app citing a
// criterion (whose live token's next call, made once the suspension is
// answered, is refused with 401), and
// reads the decisions report; a developer reads the portal's
// documentation, signs up and registers an app, which lands pending. Every
// console and portal page passes axe-core's WCAG 2.1 A and AA rules with
// no serious or critical violation, at desktop and phone widths, and
// loads nothing from another origin. With GATEWAY_UPDATE_SCREENSHOTS=1 it
// refreshes docs/screenshots/review-queue.png and app-detail.png.
func TestConsolePagesInChromium(t *testing.T) {
	chrome := chromiumPath(t)
	nodetest.Require(t)
	h := newHarness(t, memoryStore)
	ctx := t.Context()

	// An approved app with a member's live token.
	app := newMemberApp(t, h)
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, client: &http.Client{Jar: jar}, base: h.base}
	p := b.login(b.get(app.launchURL()), "alice")
	if p = b.consent(p, "allow"); !strings.Contains(p.body, "calls") || strings.Contains(p.body, "error") {
		t.Fatalf("the app did not get a token:\n%s", p.body)
	}
	// A pending app that passes every automated check.
	pending, err := h.gw.Registry.Register(ctx, apps.Registration{Name: "Harbor Health Notes", Description: "Keeps your claims in one place.",
		Developer: "Harbor Apps (fictional)", ContactEmail: "security@harbor.example", ContactPhone: "+1 555 0100",
		RedirectURIs: []string{"https://harbor.example/callback"}, Public: true, PrivacyPolicyURL: "https://harbor.example/privacy",
		TermsURL: "https://harbor.example/terms", WebsiteURL: "https://harbor.example/",
		Attestation: apps.AttestAll(true, "Jo Harbor", time.Now())}, apps.Actor{Kind: apps.ActorDeveloper, ID: "dev-harbor", Name: "Harbor Apps"})
	if err != nil || pending.App.Status != apps.StatusPending {
		t.Fatalf("register the pending app: %+v, %v", pending.App, err)
	}
	if !pending.Checks.Passed() {
		t.Fatalf("the pending app fails checks: %v", pending.Checks.Failed())
	}
	// And one that fails two, to show in the queue.
	failing, err := h.gw.Registry.Register(ctx, apps.Registration{Name: "Quickscan Claims", Developer: "Quickscan (fictional)",
		RedirectURIs: []string{"https://quickscan.example/callback?next=https://elsewhere.example/"}, Public: true}, apps.Actor{Kind: apps.ActorDeveloper, ID: "dev-quickscan"})
	if err != nil || failing.Checks.Passed() {
		t.Fatalf("register the failing app: %v, failed %v", err, failing.Checks.Failed())
	}

	shots := ""
	if os.Getenv("GATEWAY_UPDATE_SCREENSHOTS") != "" {
		shots, _ = filepath.Abs("../docs/screenshots")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"CHROMIUM=" + chrome, "BASE=" + h.base, "ADMIN=" + gateway.DemoConsoleAdmin, "PASSWORD=" + demoPassword,
		"PENDING_NAME=Harbor Health Notes", "SUSPEND_ID=" + app.conf.ClientID, "CRITERION=" + apps.CritCompromise,
		"APP_CALL_URL=" + app.srv.URL + "/call", "SCREENSHOT_DIR=" + shots}
	out := nodetest.Run(t, 180*time.Second, "console-pages.mjs", env)
	var rep consoleReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("the script's answer is not JSON: %v\n%s", err, out)
	}

	if !strings.Contains(strings.Join(rep.Queue, ","), "Harbor Health Notes") {
		t.Errorf("the queue lists %v, want the pending app", rep.Queue)
	}
	if rep.Approved.Status != "approved" || !strings.Contains(rep.Approved.Notice, "Approved") {
		t.Errorf("after approving: %+v", rep.Approved)
	}
	if len(rep.Registry) != 1 || rep.Registry[0] != "Harbor Health Notes" {
		t.Errorf("the registry filtered on approved and searched: %v", rep.Registry)
	}
	if rep.CallBefore.Status != http.StatusOK {
		t.Fatalf("the app's call before the suspension: %d", rep.CallBefore.Status)
	}
	t.Logf("the suspended app's next call: %d, %d ms after the suspension was answered", rep.CallAfter.Status, rep.CallAfterMs)
	// The call follows the suspension's answer at once; how long the
	// script took to make it is its own speed (over a second on a loaded
	// machine), not the gateway's, and is only logged.
	if rep.Suspended.Status != "suspended" || rep.CallAfter.Status != http.StatusUnauthorized {
		t.Errorf("after suspending: %+v; the app's next call %d after %d ms, want 401",
			rep.Suspended, rep.CallAfter.Status, rep.CallAfterMs)
	}
	if rep.ReportRows < 2 || rep.Registered != "pending" {
		t.Errorf("report rows %d; the developer's registration is %q, want pending", rep.ReportRows, rep.Registered)
	}
	hist := h.history(app.conf.ClientID)
	last := hist[len(hist)-1]
	if last.Action != apps.ActionSuspend || last.Actor.String() != "admin:local:admin" || len(last.Criteria) != 1 || last.Criteria[0] != apps.CritCompromise {
		t.Errorf("the suspension's history entry: %+v", last)
	}
	for _, name := range []string{"console-signin", "console-queue", "console-app", "console-app-suspended", "console-registry",
		"console-report", "portal-docs", "portal-signin", "portal-apps", "portal-register", "portal-app"} {
		pc, ok := rep.Pages[name]
		if !ok {
			t.Errorf("the %s page was not checked", name)
			continue
		}
		if pc.Lang != "en" {
			t.Errorf("%s page (%s) is in %q", name, pc.Path, pc.Lang)
		}
		for _, v := range pc.Violations {
			msg := fmt.Sprintf("%s page, %s: axe %s (%s): %s at %v", name, v.Width, v.ID, v.Impact, v.Help, v.Nodes)
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
	}
	if len(rep.External) > 0 {
		t.Errorf("pages loaded from other origins: %v", rep.External)
	}
}
