package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Retry policy: the first retry after BaseDelay, each later one after
// twice the last, at most MaxDelay, and MaxAttempts attempts in all (with
// the defaults, the last is about 19 hours after the first).
const (
	DefaultBaseDelay   = 15 * time.Second
	DefaultMaxDelay    = 4 * time.Hour
	DefaultMaxAttempts = 12
	// lease is how long a claimed delivery is hidden from other replicas:
	// longer than one attempt can take.
	lease        = 2 * time.Minute
	sendTimeout  = 10 * time.Second
	pollInterval = 5 * time.Second
	claimBatch   = 20
)

// Dispatcher sends due deliveries. Every replica runs one; the store's
// claim makes each delivery go out from one at a time.
type Dispatcher struct {
	Store  Store
	Now    func() time.Time
	Logger *slog.Logger
	// Client sends notices; nil uses one with a timeout that follows no
	// redirect and dials only public addresses (see AllowLoopback).
	Client *http.Client
	// AllowLoopback lets notices go to 127.0.0.1 and ::1 (demo mode and
	// tests); private, link-local and other non-public addresses are
	// never dialled.
	AllowLoopback bool
	// BaseDelay, MaxDelay and MaxAttempts override the retry policy.
	BaseDelay, MaxDelay time.Duration
	MaxAttempts         int

	once sync.Once
	kick chan struct{}
	cli  *http.Client
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.kick = make(chan struct{}, 1)
		if d.Logger == nil {
			d.Logger = slog.New(slog.DiscardHandler)
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		d.cli = d.Client
		if d.cli == nil {
			d.cli = &http.Client{Timeout: sendTimeout, Transport: &http.Transport{DialContext: d.dial, Proxy: nil},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		}
		if d.BaseDelay <= 0 {
			d.BaseDelay = DefaultBaseDelay
		}
		if d.MaxDelay <= 0 {
			d.MaxDelay = DefaultMaxDelay
		}
		if d.MaxAttempts <= 0 {
			d.MaxAttempts = DefaultMaxAttempts
		}
	})
}

// Kick asks the dispatcher to look for due deliveries now.
func (d *Dispatcher) Kick() {
	d.init()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run sends due deliveries until ctx ends: when kicked, and every few
// seconds for those other replicas queued or whose retry came due.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		d.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.kick:
		}
	}
}

// RunOnce claims the deliveries due now and attempts each, and returns how
// many it attempted.
func (d *Dispatcher) RunOnce(ctx context.Context) int {
	d.init()
	n := 0
	for ctx.Err() == nil {
		batch, err := d.Store.ClaimDeliveries(ctx, d.Now(), lease, claimBatch)
		if err != nil {
			d.Logger.ErrorContext(ctx, "webhook: claim deliveries", "err", err)
			return n
		}
		for _, del := range batch {
			d.attempt(ctx, del)
		}
		n += len(batch)
		if len(batch) < claimBatch {
			return n
		}
	}
	return n
}

// attempt sends one delivery and records the outcome: delivered on a 2xx,
// otherwise due again after the backoff, or failed after the last attempt.
func (d *Dispatcher) attempt(ctx context.Context, del Delivery) {
	result, ok := d.send(ctx, del)
	now := d.Now()
	del.Attempts++
	del.LastAttemptAt, del.LastResult = now, result
	switch {
	case ok:
		del.Status, del.DeliveredAt, del.NextAttempt = StatusDelivered, now, time.Time{}
	case del.Attempts >= d.MaxAttempts:
		del.Status, del.NextAttempt = StatusFailed, time.Time{}
	default:
		del.NextAttempt = now.Add(d.backoff(del.Attempts))
	}
	if err := d.Store.UpdateDelivery(ctx, del); err != nil {
		d.Logger.ErrorContext(ctx, "webhook: record attempt", "client_id", del.ClientID, "err", err)
	}
	level := slog.LevelInfo
	if !ok {
		level = slog.LevelWarn
	}
	d.Logger.Log(ctx, level, "webhook: revocation notice", "client_id", del.ClientID, "attempt", del.Attempts, "result", result, "status", del.Status)
}

// backoff is the wait after the n-th failed attempt.
func (d *Dispatcher) backoff(n int) time.Duration {
	wait := d.BaseDelay
	for i := 1; i < n && wait < d.MaxDelay; i++ {
		wait *= 2
	}
	return min(wait, d.MaxDelay)
}

// send POSTs the signed notice (RFC 8935 §2) and says how it went.
func (d *Dispatcher) send(ctx context.Context, del Delivery) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.URL, strings.NewReader(del.Token))
	if err != nil {
		return "bad URL", false
	}
	req.Header.Set("Content-Type", "application/secevent+jwt")
	req.Header.Set("Accept", "application/json")
	resp, err := d.cli.Do(req)
	if err != nil {
		return sendError(err), false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return "HTTP " + strconv.Itoa(resp.StatusCode), resp.StatusCode/100 == 2
}

// sendError names why there was no answer, in a few fixed words.
func sendError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return "address not allowed"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	return "no answer"
}

// ErrForbiddenAddress is the dial error for an address PublicDialer does
// not allow.
var ErrForbiddenAddress = errors.New("address not allowed")

func (d *Dispatcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return PublicDialer(d.AllowLoopback)(ctx, network, addr)
}

// PublicDialer returns a DialContext that connects only to public
// addresses (and loopback when allowLoopback), so a URL an app registered
// cannot reach into the plan's network or a cloud metadata service. The
// check is on the address actually dialled, after DNS; a refused address
// fails with an error wrapping ErrForbiddenAddress. The revocation
// webhook and the policy watch use it.
func PublicDialer(allowLoopback bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return err
			}
			if !publicAddr(ip.Unmap(), allowLoopback) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, ip)
			}
			return nil
		}}
		return dialer.DialContext(ctx, network, addr)
	}
}

func publicAddr(ip netip.Addr, allowLoopback bool) bool {
	if ip.IsLoopback() {
		return allowLoopback
	}
	return ip.IsGlobalUnicast() && !ip.IsPrivate()
}
