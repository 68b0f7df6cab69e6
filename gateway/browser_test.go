package gateway_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath returns the Chromium binary of the browser tests
// ($GATEWAY_TEST_CHROMIUM, else Debian's /usr/bin/chromium). Without it the
// test fails in CI and skips locally.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("GATEWAY_TEST_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium not found at %s: %v", path, err)
		}
		t.Skipf("chromium not found at %s (set GATEWAY_TEST_CHROMIUM): %v", path, err)
	}
	return path
}

// chromium starts headless Chromium for a browser test, driven by chromedp.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// TestBrowserLaunch drives the demo app, the login page, the consent page
// and the connected-apps page in a real browser, as a member would.
func TestBrowserLaunch(t *testing.T) {
	ctx := chromium(t)
	h := newHarness(t, memoryStore)
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("browser, %s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("browser, read %s: %v", sel, err)
		}
		return s
	}
	do("start at the demo app",
		chromedp.Navigate(h.base+"/demo/"),
		chromedp.Click(chromedp.CSS("#connect")),
		chromedp.WaitVisible(chromedp.CSS("#username")))
	do("sign in",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), demoPassword),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#hipaa-warning")))
	if w := text("#hipaa-warning"); !strings.Contains(w, "HIPAA generally no longer protects them") {
		t.Errorf("consent warning reads %q", w)
	}
	if a := text("#attestation"); !strings.Contains(a, "Demo Health Tracker") {
		t.Errorf("attestation reads %q", a)
	}
	do("allow", chromedp.Click(chromedp.CSS(`button[value="allow"]`)), chromedp.WaitVisible(chromedp.CSS("#connected")))
	if c := text("#claims"); c == "" || c == "0" {
		t.Errorf("the demo app found %q claims, want alice's", c)
	}
	do("open connected apps", chromedp.Navigate(h.base+"/account/apps"))
	if apps := text("main"); !strings.Contains(apps, "Demo Health Tracker") {
		t.Fatalf("connected apps page does not list the demo app:\n%s", apps)
	}
	do("revoke", chromedp.Click(chromedp.CSS("article.app a.danger-button")), chromedp.WaitVisible(chromedp.CSS("main form button.danger-button")),
		chromedp.Click(chromedp.CSS("main form button.danger-button")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if after := text("main"); !strings.Contains(after, "You have not connected any apps") {
		t.Errorf("the app is still listed after revoking:\n%s", after)
	}
}
