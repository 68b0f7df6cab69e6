package webhook_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/store/memory"
	"github.com/patientaccess/gateway/gateway/store/storetest"
	"github.com/patientaccess/gateway/gateway/webhook"
	"github.com/patientaccess/gateway/oauth"
)

// rsaSigner signs as the gateway does (RS256), for these tests.
type rsaSigner struct{ key *rsa.PrivateKey }

func (s rsaSigner) SignJWT(claims map[string]any, typ string) (string, error) {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": typ})
	p, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), err
}

// receiver is an app's webhook endpoint: it answers with the statuses
// given, in turn (the last one from then on), and keeps what it got.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []*http.Request
	bodies   []string
	srv      *httptest.Server
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	rc := &receiver{statuses: statuses}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got, rc.bodies = append(rc.got, r), append(rc.bodies, string(body))
		status := rc.statuses[min(len(rc.got), len(rc.statuses))-1]
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

type env struct {
	store *memory.Store
	clock *storetest.Clock
	key   *rsa.PrivateKey
	n     *webhook.Notifier
	d     *webhook.Dispatcher
}

func newEnv(t *testing.T, webhookURL string) *env {
	t.Helper()
	clock := storetest.NewClock(time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC))
	st := memory.New(clock.Now)
	if err := st.CreateApp(context.Background(), apps.App{ClientID: "app1", Name: "Tracker", WebhookURL: webhookURL, Status: apps.StatusApproved}); err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	d := &webhook.Dispatcher{Store: st, Now: clock.Now, AllowLoopback: true}
	n := &webhook.Notifier{Store: st, Apps: st, Signer: rsaSigner{key}, Issuer: "https://gw.example", Now: clock.Now, Kick: d.Kick}
	return &env{store: st, clock: clock, key: key, n: n, d: d}
}

func (e *env) revoke() {
	e.n.GrantsRevoked(context.Background(), oauth.Revocation{ClientID: "app1", Subject: "pairwise-sub", Patient: "alice-1001",
		Grants: []string{"g1"}, At: e.clock.Now()})
}

func (e *env) deliveries(t *testing.T) []webhook.Delivery {
	t.Helper()
	list, err := e.store.ListDeliveries(context.Background(), "app1", 10)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestNoticeIsASignedSecurityEventToken: the app gets an RFC 8417 SET,
// RS256 over the gateway's key, naming it (aud), the member as the app
// knows them (sub, pairwise), the Patient and when access ended, posted
// as application/secevent+jwt (RFC 8935).
func TestNoticeIsASignedSecurityEventToken(t *testing.T) {
	rc := newReceiver(t, http.StatusAccepted)
	e := newEnv(t, rc.srv.URL+"/hooks/revoked")
	e.revoke()
	if n := e.d.RunOnce(context.Background()); n != 1 || rc.count() != 1 {
		t.Fatalf("attempted %d, received %d", n, rc.count())
	}
	if ct := rc.got[0].Header.Get("Content-Type"); ct != "application/secevent+jwt" || rc.got[0].URL.Path != "/hooks/revoked" {
		t.Fatalf("posted %s to %s", ct, rc.got[0].URL)
	}
	parts := strings.Split(rc.bodies[0], ".")
	if len(parts) != 3 {
		t.Fatalf("body is not a JWS: %q", rc.bodies[0])
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if err := rsa.VerifyPKCS1v15(&e.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var header map[string]string
	var claims struct {
		Iss, Aud, Sub, Jti string
		Iat                int64
		Events             map[string]struct {
			Patient   string `json:"patient"`
			RevokedAt int64  `json:"revoked_at"`
			Request   string `json:"request"`
		}
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(h, &header) != nil || json.Unmarshal(p, &claims) != nil {
		t.Fatal("undecodable token")
	}
	ev, ok := claims.Events[webhook.EventGrantRevoked]
	if header["typ"] != "secevent+jwt" || claims.Iss != "https://gw.example" || claims.Aud != "app1" || claims.Sub != "pairwise-sub" ||
		claims.Jti == "" || !ok || ev.Patient != "alice-1001" || ev.RevokedAt != e.clock.Now().Unix() || !strings.Contains(ev.Request, "Delete") {
		t.Fatalf("header %v claims %+v", header, claims)
	}
	if d := e.deliveries(t); len(d) != 1 || d[0].Status != webhook.StatusDelivered || d[0].Attempts != 1 || d[0].LastResult != "HTTP 202" {
		t.Fatalf("delivery recorded as %+v", d)
	}
}

// TestRetriesWithBackoff: a failing app is tried again after 15 s, then
// 30 s, … and the delivery records each attempt; nothing goes out before
// it is due.
func TestRetriesWithBackoff(t *testing.T) {
	rc := newReceiver(t, 503, 500, 204)
	e := newEnv(t, rc.srv.URL)
	e.revoke()
	ctx := context.Background()
	steps := []struct {
		advance  time.Duration
		attempts int
		status   string
		result   string
		next     time.Duration
	}{
		{0, 1, webhook.StatusPending, "HTTP 503", 15 * time.Second},
		{14 * time.Second, 1, webhook.StatusPending, "HTTP 503", time.Second}, // not due yet
		{time.Second, 2, webhook.StatusPending, "HTTP 500", 30 * time.Second},
		{30 * time.Second, 3, webhook.StatusDelivered, "HTTP 204", 0},
		{time.Hour, 3, webhook.StatusDelivered, "HTTP 204", 0},
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		e.d.RunOnce(ctx)
		d := e.deliveries(t)[0]
		wantNext := time.Time{}
		if s.next > 0 {
			wantNext = e.clock.Now().Add(s.next)
		}
		if d.Attempts != s.attempts || d.Status != s.status || d.LastResult != s.result || !d.NextAttempt.Equal(wantNext) {
			t.Fatalf("step %d: %+v, want %d attempts, %s, %s, next %v", i, d, s.attempts, s.status, s.result, wantNext)
		}
	}
	if rc.count() != 3 {
		t.Fatalf("the app received %d posts, want 3", rc.count())
	}
}

// TestGivesUpAfterTheLastAttempt: an app that never answers well gets
// MaxAttempts tries, then the delivery is failed and left alone.
func TestGivesUpAfterTheLastAttempt(t *testing.T) {
	rc := newReceiver(t, 500)
	e := newEnv(t, rc.srv.URL)
	e.d.MaxAttempts = 3
	e.revoke()
	for range 10 {
		e.d.RunOnce(context.Background())
		e.clock.Advance(webhook.DefaultMaxDelay)
	}
	if d := e.deliveries(t)[0]; d.Status != webhook.StatusFailed || d.Attempts != 3 || rc.count() != 3 {
		t.Fatalf("delivery %+v after %d posts", d, rc.count())
	}
}

// TestNoWebhookNoNotice: an app without a webhook URL gets nothing.
func TestNoWebhookNoNotice(t *testing.T) {
	e := newEnv(t, "")
	e.revoke()
	if d := e.deliveries(t); len(d) != 0 {
		t.Fatalf("deliveries %+v", d)
	}
}

// TestOnlyPublicAddresses: notices are not sent into private networks or
// to link-local addresses (cloud metadata), nor to loopback unless
// allowed (demo mode), whatever the URL's host resolves to.
func TestOnlyPublicAddresses(t *testing.T) {
	rc := newReceiver(t, 202)
	e := newEnv(t, rc.srv.URL)
	e.d.AllowLoopback = false
	e.revoke()
	e.d.RunOnce(context.Background())
	if d := e.deliveries(t)[0]; rc.count() != 0 || d.LastResult != "address not allowed" || d.Status != webhook.StatusPending {
		t.Fatalf("loopback refused? %+v, %d received", d, rc.count())
	}
}
