package gateway_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium starts headless Chromium for a browser test. Without Chromium the
// test fails in CI and skips locally.
func chromium(t *testing.T) context.Context {
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
	var warning, attestation, claims, apps string
	err := chromedp.Run(ctx,
		chromedp.Navigate(h.base+"/demo/"),
		chromedp.Click("#connect", chromedp.ByID),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "alice", chromedp.ByID),
		chromedp.SendKeys("#password", demoPassword, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible("#hipaa-warning", chromedp.ByID),
		chromedp.Text("#hipaa-warning", &warning, chromedp.ByID),
		chromedp.Text("#attestation", &attestation, chromedp.ByID),
		chromedp.Click(`button[value="allow"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#connected", chromedp.ByID),
		chromedp.Text("#claims", &claims, chromedp.ByID),
		chromedp.Navigate(h.base+"/account/apps"),
		chromedp.Text("main", &apps, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(warning, "HIPAA generally no longer protects them") {
		t.Errorf("consent warning reads %q", warning)
	}
	if !strings.Contains(attestation, "Demo Health Tracker") {
		t.Errorf("attestation reads %q", attestation)
	}
	if claims == "" || claims == "0" {
		t.Errorf("the demo app found %q claims, want alice's", claims)
	}
	if !strings.Contains(apps, "Demo Health Tracker") {
		t.Fatalf("connected apps page does not list the demo app:\n%s", apps)
	}
	var after string
	err = chromedp.Run(ctx,
		chromedp.Click(`article.app button`, chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Text("main", &after, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("revoke in the browser: %v", err)
	}
	if strings.Contains(after, "Demo Health Tracker") {
		t.Errorf("the app is still listed after revoking:\n%s", after)
	}
}
