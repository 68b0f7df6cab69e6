package policywatch_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/policywatch"
	"github.com/patientaccess/gateway/gateway/store/memory"
)

// site serves a privacy policy and terms whose text the test changes.
type site struct {
	mu      sync.Mutex
	policy  string
	terms   string
	nonce   int
	status  int
	srv     *httptest.Server
	fetches int
}

func newSite(t *testing.T) *site {
	s := &site{policy: "We never sell your data.", terms: "Be nice.", status: 200}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fetches++
		s.nonce++
		switch r.URL.Path {
		case "/privacy":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(s.status)
			// A fresh nonce and CSRF token on every fetch: not a change.
			fmt.Fprintf(w, `<html><head><script nonce="%d">var t=%d</script><style>p{}</style></head><body><input type=hidden value="csrf%d"><h1>Privacy</h1>  <p>%s</p></body></html>`, s.nonce, s.nonce, s.nonce, s.policy)
		case "/terms":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, s.terms)
		case "/old":
			http.Redirect(w, r, "/privacy", http.StatusMovedPermanently)
		case "/huge":
			fmt.Fprint(w, strings.Repeat("x", 4<<10))
		case "/slow":
			time.Sleep(2 * time.Second)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *site) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

func (s *site) set(f func(*site)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// TestPolicyWatch: the first round keeps a baseline; a round that finds
// the same text (markup, nonces and tokens aside) changes nothing; a
// round that finds new text marks the attestation stale, records the
// change in the app's history and on the app for the consent page; a
// page that cannot be fetched keeps its hash and says why.
func TestPolicyWatch(t *testing.T) {
	ctx := context.Background()
	s := newSite(t)
	st := memory.New(nil)
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	reg := &apps.Registry{Store: st, Now: now}
	out, err := reg.Register(ctx, apps.Registration{Name: "Tracker", RedirectURIs: []string{"https://t.example/cb"},
		PrivacyPolicyURL: s.srv.URL + "/privacy", TermsURL: s.srv.URL + "/terms",
		Attestation: apps.AttestAll(true, "Dana", time.Time{})}, apps.TokenActor)
	if err != nil {
		t.Fatal(err)
	}
	id := out.App.ClientID
	w := &policywatch.Watcher{Registry: reg, Store: st, AllowLoopback: true, Now: now}

	round := func(want int) apps.PolicyWatch {
		t.Helper()
		clock = clock.Add(24 * time.Hour)
		n, err := w.RunOnce(ctx)
		if err != nil || n != want {
			t.Fatalf("round at %v: %d changed (%v), want %d", clock, n, err, want)
		}
		pw, err := st.GetPolicyWatch(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return pw
	}
	first := round(0)
	p, _ := first.Page(policywatch.KindPrivacyPolicy)
	if len(first.Pages) != 2 || len(p.Hash) != 64 || p.LastError != "" || !p.FetchedAt.Equal(clock) {
		t.Fatalf("baseline %+v", first)
	}
	round(0) // new nonce and token, same text
	if a, _ := st.GetApp(ctx, id); a.Attestation.Stale() || !a.PolicyChangedAt.IsZero() {
		t.Fatalf("an unchanged policy marked the app: %+v", a)
	}

	s.set(func(s *site) { s.policy = "We may sell your data to partners." })
	changed := round(1)
	a, _ := st.GetApp(ctx, id)
	if !a.PolicyChangedAt.Equal(clock) || !a.Attestation.StaleSince.Equal(clock) || a.Attestation.Status() != apps.AttestationAttested {
		t.Fatalf("after a change: policy changed %v, stale since %v", a.PolicyChangedAt, a.Attestation.StaleSince)
	}
	if p2, _ := changed.Page(policywatch.KindPrivacyPolicy); p2.Hash == p.Hash || !p2.ChangedAt.Equal(clock) {
		t.Fatalf("watched page after a change %+v", p2)
	}
	h, _ := st.ListHistory(ctx, id)
	last := h[len(h)-1]
	if last.Action != apps.ActionPolicyChange || last.Actor != apps.WatchActor || !strings.Contains(last.Note, "privacy policy changed") {
		t.Fatalf("history %+v", last)
	}

	s.set(func(s *site) { s.terms = "Be very nice." })
	round(1)
	if h, _ := st.ListHistory(ctx, id); !strings.Contains(h[len(h)-1].Note, "terms changed") {
		t.Fatalf("terms change not recorded: %+v", h[len(h)-1])
	}

	s.set(func(s *site) { s.status = 503; s.policy = "changed while down" })
	down := round(0)
	if p3, _ := down.Page(policywatch.KindPrivacyPolicy); p3.LastError != "HTTP 503" || p3.Hash == "" {
		t.Fatalf("a failed fetch: %+v", p3)
	}
	s.set(func(s *site) { s.status = 200 })
	round(1) // the change made while it was down is seen once it is back
}

// TestPolicyWatchBounds: fetches follow a few redirects, stop at the size
// and time bounds, never dial a loopback address unless allowed, and skip
// denied and deleted apps.
func TestPolicyWatchBounds(t *testing.T) {
	ctx := context.Background()
	s := newSite(t)
	st := memory.New(nil)
	reg := &apps.Registry{Store: st}
	register := func(policy string) string {
		out, err := reg.Register(ctx, apps.Registration{Name: "T", RedirectURIs: []string{"https://t.example/cb"}, PrivacyPolicyURL: policy}, apps.TokenActor)
		if err != nil {
			t.Fatal(err)
		}
		return out.App.ClientID
	}
	redirected, huge, slow := register(s.srv.URL+"/old"), register(s.srv.URL+"/huge"), register(s.srv.URL+"/slow")
	denied := register(s.srv.URL + "/privacy")
	if _, err := reg.Decide(ctx, denied, apps.DecisionRequest{Action: apps.ActionDeny, Actor: apps.TokenActor,
		Criteria: []string{apps.CritImpersonation}, Evidence: "e"}); err != nil {
		t.Fatal(err)
	}
	w := &policywatch.Watcher{Registry: reg, Store: st, AllowLoopback: true, Timeout: 500 * time.Millisecond, MaxBytes: 1 << 10}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{redirected: "", huge: "larger than 1 KiB", slow: "timeout"} {
		pw, _ := st.GetPolicyWatch(ctx, id)
		if p, _ := pw.Page(policywatch.KindPrivacyPolicy); p.LastError != want || (want == "" && p.Hash == "") {
			t.Errorf("%s: %+v, want error %q", id, p, want)
		}
	}
	if _, err := st.GetPolicyWatch(ctx, denied); err == nil {
		t.Error("a denied app was watched")
	}

	strict := &policywatch.Watcher{Registry: reg, Store: st}
	before := s.count()
	if _, err := strict.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	pw, _ := st.GetPolicyWatch(ctx, redirected)
	if p, _ := pw.Page(policywatch.KindPrivacyPolicy); p.LastError != "address not allowed" || s.count() != before {
		t.Fatalf("without AllowLoopback: %+v, %d fetches", p, s.count()-before)
	}
}

// TestText: what is hashed of an HTML page is its visible text.
func TestText(t *testing.T) {
	a := policywatch.Text([]byte(`<p class=a>Hello <b>you</b></p><script>x=1</script>`), "text/html; charset=utf-8")
	b := policywatch.Text([]byte("<div>\n Hello   you</div><style>.x{}</style><noscript>n</noscript>"), "text/html")
	if a != "Hello you" || a != b {
		t.Fatalf("%q vs %q", a, b)
	}
	if got := policywatch.Text([]byte("<p>x</p>"), "text/plain"); got != "<p>x</p>" {
		t.Fatalf("plain text: %q", got)
	}
}
