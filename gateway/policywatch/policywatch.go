// Package policywatch fetches, on a schedule, the privacy policy and terms
// of every app under review or approved, keeps the SHA-256 of each page's
// text, and when one changes records it through the registry: the app's
// attestation becomes stale, admins see a "policy_change" entry in its
// history and an "app.policy_change" audit event, and members read "this
// app changed its privacy policy on DATE" on the consent page.
//
// Fetches are SSRF-safe: only public addresses are dialled (the webhook's
// rules, gateway/webhook.PublicDialer), with a time and size bound.
// Loopback is allowed only when AllowLoopback is set (tests, demo).
package policywatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/html"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/webhook"
)

// Limits of one fetch.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMaxBytes = 1 << 20
	maxRedirects    = 3
)

// The kinds of watched pages.
const (
	KindPrivacyPolicy = "privacy_policy"
	KindTerms         = "terms"
)

// Registry is what the watch needs of the app registry (apps.Registry
// satisfies it).
type Registry interface {
	List(ctx context.Context) ([]apps.App, error)
	PolicyChanged(ctx context.Context, clientID string, at time.Time, what string) (apps.App, error)
}

// Store keeps what the watch saw (apps.Store satisfies it).
type Store interface {
	GetPolicyWatch(ctx context.Context, clientID string) (apps.PolicyWatch, error)
	PutPolicyWatch(ctx context.Context, w apps.PolicyWatch) error
}

// Watcher runs the policy watch.
type Watcher struct {
	Registry Registry
	Store    Store
	// Interval between rounds; Run does nothing when it is zero or less.
	Interval time.Duration
	// AllowLoopback lets the watch fetch from 127.0.0.1 and ::1 (tests and
	// the demo); private and other non-public addresses are never fetched.
	AllowLoopback bool
	// Timeout and MaxBytes bound one fetch; zero takes the defaults.
	Timeout  time.Duration
	MaxBytes int64
	Now      func() time.Time
	Logger   *slog.Logger // nil discards
	// Claim, when set, is asked before each round of Run; a round runs
	// only if it answers true, so that of several replicas one watches.
	Claim func(ctx context.Context) bool
}

// Run runs a round every Interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	if w.Interval <= 0 {
		return
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if w.Claim != nil && !w.Claim(ctx) {
				continue
			}
			if _, err := w.RunOnce(ctx); err != nil {
				w.logger().WarnContext(ctx, "policy watch round failed", "err", err)
			}
		}
	}
}

// watched reports whether the watch looks at an app: every app but a
// denied or deleted one.
func watched(a apps.App) bool {
	return a.Status != apps.StatusDenied && a.Status != apps.StatusDeleted && (a.PrivacyPolicyURL != "" || a.TermsURL != "")
}

// RunOnce fetches every watched app's pages once and returns how many apps
// it found changed. A page that cannot be fetched keeps its last hash and
// records why (LastError); it is never a change.
func (w *Watcher) RunOnce(ctx context.Context) (int, error) {
	list, err := w.Registry.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("policy watch: %w", err)
	}
	client := w.client()
	changed := 0
	for _, a := range list {
		if ctx.Err() != nil {
			return changed, ctx.Err()
		}
		if !watched(a) {
			continue
		}
		ok, err := w.check(ctx, client, a)
		if err != nil {
			w.logger().WarnContext(ctx, "policy watch: app not checked", "client_id", a.ClientID, "err", err)
			continue
		}
		if ok {
			changed++
		}
	}
	return changed, nil
}

// check fetches one app's pages, stores what it saw and reports a change.
func (w *Watcher) check(ctx context.Context, client *http.Client, a apps.App) (bool, error) {
	prev, err := w.Store.GetPolicyWatch(ctx, a.ClientID)
	if err != nil && !errors.Is(err, apps.ErrNotFound) {
		return false, err
	}
	now := w.now()
	next := apps.PolicyWatch{ClientID: a.ClientID, CheckedAt: now}
	var what []string
	for _, pg := range []struct{ kind, url string }{{KindPrivacyPolicy, a.PrivacyPolicyURL}, {KindTerms, a.TermsURL}} {
		if pg.url == "" {
			continue
		}
		old, seen := prev.Page(pg.kind)
		page := apps.WatchedPage{Kind: pg.kind, URL: pg.url}
		if seen && old.URL == pg.url {
			page = old // a new address is a new baseline, not a change
		}
		hash, err := w.fetch(ctx, client, pg.url)
		if err != nil {
			page.LastError = err.Error()
			next.Pages = append(next.Pages, page)
			continue
		}
		page.LastError, page.FetchedAt = "", now
		if page.Hash != "" && page.Hash != hash {
			page.ChangedAt = now
			what = append(what, strings.ReplaceAll(pg.kind, "_", " ")+" changed ("+pg.url+")")
		}
		page.Hash = hash
		next.Pages = append(next.Pages, page)
	}
	if err := w.Store.PutPolicyWatch(ctx, next); err != nil {
		return false, err
	}
	if len(what) == 0 {
		return false, nil
	}
	if _, err := w.Registry.PolicyChanged(ctx, a.ClientID, now, strings.Join(what, "; ")); err != nil && !errors.Is(err, apps.ErrNotAudited) {
		return false, err
	}
	w.logger().InfoContext(ctx, "policy watch: app's policy changed", "client_id", a.ClientID)
	return true, nil
}

// fetch GETs a page and returns the hex SHA-256 of its text.
func (w *Watcher) fetch(ctx context.Context, client *http.Client, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmpDuration(w.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("bad URL")
	}
	req.Header.Set("Accept", "text/html, text/plain;q=0.9, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		return "", describe(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	max := w.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return "", describe(err)
	}
	if int64(len(body)) > max {
		return "", fmt.Errorf("larger than %d KiB", max>>10)
	}
	sum := sha256.Sum256([]byte(Text(body, resp.Header.Get("Content-Type"))))
	return hex.EncodeToString(sum[:]), nil
}

// describe turns a fetch error into a short reason for admins.
func describe(err error) error {
	switch {
	case errors.Is(err, webhook.ErrForbiddenAddress):
		return errors.New("address not allowed")
	case errors.Is(err, context.DeadlineExceeded):
		return errors.New("timeout")
	case strings.Contains(err.Error(), "redirects"):
		return errors.New("too many redirects")
	}
	return errors.New("unreachable")
}

// Text is what the watch hashes of a page: for HTML, the visible text
// with white space collapsed (markup, scripts, styles and attributes left
// out, so a new CSRF token or nonce is not a change); otherwise the body.
func Text(body []byte, contentType string) string {
	if !strings.Contains(strings.ToLower(contentType), "html") {
		return string(body)
	}
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(string(body)))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.Join(strings.Fields(b.String()), " ")
		case html.StartTagToken:
			if name, _ := z.TagName(); isHidden(string(name)) {
				skip++
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); isHidden(string(name)) && skip > 0 {
				skip--
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
				b.WriteByte(' ')
			}
		}
	}
}

func isHidden(tag string) bool {
	return tag == "script" || tag == "style" || tag == "noscript" || tag == "template"
}

// client fetches only public addresses (loopback when allowed), follows
// at most maxRedirects redirects, and uses no proxy.
func (w *Watcher) client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{DialContext: webhook.PublicDialer(w.AllowLoopback), Proxy: nil,
			ResponseHeaderTimeout: cmpDuration(w.Timeout, DefaultTimeout)},
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (w *Watcher) now() time.Time {
	if w.Now == nil {
		return time.Now()
	}
	return w.Now()
}

func (w *Watcher) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}
