package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// UpstreamConfig says how to reach the plan's FHIR R4 server.
type UpstreamConfig struct {
	// BaseURL is the upstream's FHIR base, e.g. https://fhir.plan.example/r4.
	BaseURL string
	// Auth authenticates each call; nil sends none.
	Auth UpstreamAuth
	// Timeout bounds a whole call (connect, headers, body); default 10 s.
	Timeout time.Duration
	// ConnectTimeout bounds the TCP connect and TLS handshake; default 3 s.
	ConnectTimeout time.Duration
	// MaxBody is the largest answer accepted; default 8 MiB.
	MaxBody int64
	// FailuresToOpen consecutive failures open the circuit breaker; default 5.
	FailuresToOpen uint32
	// OpenFor is how long the breaker stays open before a trial call;
	// default 10 s.
	OpenFor time.Duration
	// Logger receives the upstream's faults, never its error text.
	Logger *slog.Logger
}

// Upstream is a Source that reads from the plan's FHIR server. Every query
// goes out limited to the member's compartment (the gateway adds the
// restriction itself, reads included), and its answers are returned byte
// for byte for the Handler to check again. Calls are bounded in time and
// size over a pooled HTTP client, and a circuit breaker stops calling an
// upstream that keeps failing: the API answers 503 with Retry-After until a
// trial call succeeds.
type Upstream struct {
	base *url.URL
	cfg  UpstreamConfig
	// transport sends the calls. The gateway follows no redirect and
	// bounds each call with its own context, so it needs nothing of an
	// http.Client but the transport (which cloned each call's headers for
	// redirects and added a second deadline).
	transport http.RoundTripper
	breaker   *gobreaker.CircuitBreaker[*http.Response]
}

var _ Source = (*Upstream)(nil)

// NewUpstream checks the configuration and builds the client.
func NewUpstream(cfg UpstreamConfig) (*Upstream, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("upstream FHIR base URL %q: want an absolute http(s) URL without query", cfg.BaseURL)
	}
	setDefault(&cfg.Timeout, 10*time.Second)
	setDefault(&cfg.ConnectTimeout, 3*time.Second)
	setDefault(&cfg.OpenFor, 10*time.Second)
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 8 << 20
	}
	if cfg.FailuresToOpen == 0 {
		cfg.FailuresToOpen = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	u := &Upstream{base: base, cfg: cfg, transport: upstreamTransport(cfg)}
	u.breaker = gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
		Name: "fhir-upstream", MaxRequests: 1, Timeout: cfg.OpenFor,
		ReadyToTrip:  func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.FailuresToOpen },
		IsSuccessful: func(err error) bool { return err == nil || !isUpstreamFailure(err) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			cfg.Logger.Warn("fhir upstream circuit breaker", "from", from.String(), "to", to.String())
		},
	})
	return u, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// upstreamTransport is a pooled transport with bounded connect, handshake
// and header waits. Proxies come from the environment as usual.
func upstreamTransport(cfg UpstreamConfig) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
}

// isUpstreamFailure reports whether err counts against the upstream's
// health: it did not answer, or answered with a server-side failure.
func isUpstreamFailure(err error) bool {
	return errors.Is(err, ErrGatewayTimeout) || errors.Is(err, ErrBadGateway) || errors.Is(err, ErrUnavailable)
}

// Read implements Source. Member data is read as a search on _id limited to
// the member's compartment, so the upstream is never even asked for
// another member's record; the member's own Patient, and shared reference
// data, are read directly.
func (u *Upstream) Read(ctx context.Context, q ReadQuery) (json.RawMessage, error) {
	r, err := u.readPooled(ctx, q)
	return r.raw, err // the buffer is left to the collector
}

// pooledRead is what readPooled read: the resource, its facts when the
// searchset it came in gave them (nil otherwise), and the buffer from
// bodyBuffers it is in, which the caller gives back with releaseBody once
// it has written the resource (nil when there is none).
type pooledRead struct {
	raw   json.RawMessage
	facts *catalog.Facts
	buf   *bytes.Buffer
}

// readPooled is Read with the resource in a pooled buffer.
func (u *Upstream) readPooled(ctx context.Context, q ReadQuery) (pooledRead, error) {
	if q.Type.Kind == catalog.MemberData && q.Constraint.Patient == "" {
		return pooledRead{}, errNoCompartment
	}
	ownPatient := q.Type.Owner.Param == "_id" && q.ID == q.Constraint.Patient
	switch {
	case q.Type.Kind == catalog.MemberData && q.Type.Owner.Param == "_id" && !ownPatient:
		return pooledRead{}, fmt.Errorf("fhir: upstream read %s: %w", q.Type.Name, ErrNotFound)
	case q.Type.Kind != catalog.MemberData || ownPatient:
		buf, status, err := u.getPooled(ctx, q.Type.Name+"/"+url.PathEscape(q.ID))
		switch {
		case status == http.StatusNotFound || status == http.StatusGone:
			return pooledRead{}, fmt.Errorf("fhir: upstream read %s: %w", q.Type.Name, ErrNotFound)
		case err != nil:
			return pooledRead{}, err
		}
		return pooledRead{raw: buf.Bytes(), buf: buf}, nil
	}
	v := compartmentQuery(q.Type, q.Constraint.Patient)
	v.Set("_id", q.ID)
	page, err := u.search(ctx, q.Type.Name+"?"+v.Encode())
	switch {
	case err != nil:
		return pooledRead{}, err
	case len(page.Entries) == 0:
		releasePage(page)
		return pooledRead{}, fmt.Errorf("fhir: upstream read %s: %w", q.Type.Name, ErrNotFound)
	case len(page.Entries) > 1:
		releasePage(page)
		return pooledRead{}, fmt.Errorf("fhir: upstream read %s answered %d resources for one id: %w", q.Type.Name, len(page.Entries), ErrBadGateway)
	}
	return pooledRead{raw: page.Entries[0], facts: &page.EntryFacts[0], buf: page.body}, nil
}

// compartmentQuery is the restriction the gateway adds to every query on a
// member-data type: the owner parameter naming the member's Patient, in
// the canonical form real servers match (patient=Patient/{id}).
func compartmentQuery(t *catalog.Type, patient string) url.Values {
	v := url.Values{}
	if t.Owner.Param == "_id" {
		v.Set("_id", patient)
	} else {
		v.Set(t.Owner.Param, "Patient/"+patient)
	}
	return v
}

// Search implements Source. The first page is the search the app asked
// for plus the compartment restriction; a cursor is the path and query of
// the upstream's own next link, relative to the base, which the Handler
// signed into the app's link. The upstream's total would count resources
// the Handler withholds as sensitive, so while the constraint withholds
// any label no total is given (FHIR makes it optional).
func (u *Upstream) Search(ctx context.Context, q Query) (Page, error) {
	page, err := u.searchPage(ctx, q)
	if err == nil && len(q.Constraint.Withheld) > 0 {
		page.Total = -1
	}
	return page, err
}

func (u *Upstream) searchPage(ctx context.Context, q Query) (Page, error) {
	if q.Cursor != "" {
		return u.search(ctx, q.Cursor)
	}
	v := url.Values{}
	if q.Type.Kind == catalog.MemberData {
		if q.Constraint.Patient == "" {
			return Page{}, errNoCompartment
		}
		v = compartmentQuery(q.Type, q.Constraint.Patient)
	}
	for _, c := range q.Criteria {
		v.Add(c.Param.Name, strings.Join(c.Values, ","))
	}
	for _, inc := range q.Includes {
		value := q.Type.Name + ":" + inc.Name
		if len(inc.Targets) == 1 {
			value += ":" + inc.Targets[0]
		}
		v.Add("_include", value)
	}
	v.Set("_count", strconv.Itoa(q.Count))
	return u.search(ctx, q.Type.Name+"?"+v.Encode())
}

// search fetches one searchset at rel (relative to the base). The page's
// resources are in a pooled buffer (Page.body), which releasePage gives
// back.
func (u *Upstream) search(ctx context.Context, rel string) (Page, error) {
	buf, status, err := u.getPooled(ctx, rel)
	if err != nil {
		return Page{}, err
	}
	if status != http.StatusOK {
		releaseBody(buf)
		return Page{}, fmt.Errorf("fhir: upstream search answered %d: %w", status, ErrBadGateway)
	}
	page, err := u.parseSearchset(buf.Bytes())
	if err != nil {
		releaseBody(buf)
		return Page{}, err
	}
	page.body = buf
	return page, nil
}

// get performs one GET under the base through the breaker. It returns the
// body of a 2xx answer, the status of a 404 or 410 (for reads), and an
// error wrapping ErrBadGateway, ErrGatewayTimeout or ErrUnavailable for
// everything else.
func (u *Upstream) get(ctx context.Context, rel string) ([]byte, int, error) {
	buf, status, err := u.getPooled(ctx, rel)
	if buf == nil {
		return nil, status, err
	}
	return buf.Bytes(), status, err // the buffer is left to the collector
}

// getPooled is get with the body in a buffer from bodyBuffers (nil when
// there is no body), which the caller gives back with releaseBody once
// nothing refers to its bytes any more, or leaves to the collector.
func (u *Upstream) getPooled(ctx context.Context, rel string) (*bytes.Buffer, int, error) {
	resp, err := u.breaker.Execute(func() (*http.Response, error) { return u.call(ctx, rel) })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return nil, 0, fmt.Errorf("fhir: upstream circuit open: %w", ErrUnavailable)
	}
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return nil, resp.StatusCode, nil
	}
	buf, err := readBody(resp, u.cfg.MaxBody)
	switch {
	case isTimeout(err):
		return nil, 0, fmt.Errorf("fhir: upstream body: %w", ErrGatewayTimeout)
	case errors.Is(err, errTooLarge):
		return nil, 0, fmt.Errorf("fhir: upstream answer larger than %d bytes: %w", u.cfg.MaxBody, ErrBadGateway)
	case err != nil:
		return nil, 0, fmt.Errorf("fhir: upstream body: %v: %w", err, ErrBadGateway)
	}
	return buf, resp.StatusCode, nil
}

// bodyBuffers are the buffers upstream answers are read into, used again
// once the answer built from them is written (releaseBody): a page of
// claims is tens of kilobytes, and reading each into new memory (through
// a dozen growing buffers with io.ReadAll, twice the page) made the
// collector run several times as often as the rest of a search needs.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for another answer.
const maxPooledBody = 1 << 20

// releaseBody gives a body's buffer back (nil is ignored). Nothing may
// refer to its bytes afterwards: the next upstream answer, another
// member's, is read into them.
func releaseBody(buf *bytes.Buffer) {
	if buf != nil && buf.Cap() <= maxPooledBody {
		buf.Reset()
		bodyBuffers.Put(buf)
	}
}

// readBody reads an answer's body, at most max+1 bytes of it, into a
// buffer from bodyBuffers; one declared longer than max is not read.
func readBody(resp *http.Response, max int64) (*bytes.Buffer, error) {
	n := resp.ContentLength
	if n > max {
		return nil, errTooLarge // refused by its length, unread
	}
	buf := bodyBuffers.Get().(*bytes.Buffer)
	if n >= 0 {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead free before it reads the end
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, max+1))
	if err == nil && int64(buf.Len()) > max {
		err = errTooLarge
	}
	if err != nil {
		releaseBody(buf)
		return nil, err
	}
	return buf, nil
}

// errTooLarge is an answer larger than UpstreamConfig.MaxBody.
var errTooLarge = errors.New("fhir: upstream answer too large")

// call sends the request and classifies the answer for the breaker: a
// response is returned only for 2xx, 404 and 410.
func (u *Upstream) call(ctx context.Context, rel string) (*http.Response, error) {
	resp, err := u.send(ctx, rel)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && u.cfg.Auth != nil && u.cfg.Auth.Invalidate() {
		// A cached upstream token may have been revoked early: fetch a new
		// one and try once more.
		resp.Body.Close()
		resp, err = u.send(ctx, rel)
	}
	switch {
	case isTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("fhir: upstream call: %w", ErrGatewayTimeout)
	case errors.Is(err, context.Canceled):
		return nil, err // the app went away; not the upstream's fault
	case err != nil:
		return nil, fmt.Errorf("fhir: upstream call: %v: %w", err, ErrBadGateway)
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300, s == http.StatusNotFound, s == http.StatusGone:
		return resp, nil
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		u.logFault(ctx, resp)
		return nil, fmt.Errorf("fhir: upstream answered %d: %w", s, ErrUnavailable)
	default:
		u.logFault(ctx, resp)
		return nil, fmt.Errorf("fhir: upstream answered %d: %w", s, ErrBadGateway)
	}
}

// send makes one GET under the base, bounded by UpstreamConfig.Timeout
// from its start to its body's Close. A redirect is not followed: it is
// answered as it came (and call refuses it).
func (u *Upstream) send(ctx context.Context, rel string) (*http.Response, error) {
	ctx, cancel := u.deadline(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base.String()+"/"+rel, nil)
	if err != nil {
		stop(cancel)
		return nil, err
	}
	req.Header = http.Header{"Accept": acceptFHIR}
	if u.cfg.Auth != nil {
		if err := u.cfg.Auth.Authorize(ctx, req); err != nil {
			stop(cancel)
			return nil, fmt.Errorf("authenticate to upstream: %w", err)
		}
	}
	if user := u.base.User; user != nil && req.Header.Get("Authorization") == "" {
		// Credentials in the base URL, sent as http.Client sends them.
		password, _ := user.Password()
		req.SetBasicAuth(user.Username(), password)
	}
	resp, err := u.transport.RoundTrip(req)
	if err != nil {
		stop(cancel)
		return nil, err
	}
	if cancel != nil {
		resp.Body = cancelOnClose{resp.Body, cancel}
	}
	return resp, nil
}

// deadline bounds a call by UpstreamConfig.Timeout: ctx with a deadline of
// its own and its cancel, or ctx and nil when ctx's deadline comes sooner
// (the gateway's request timeout and this one are both 10 s by default,
// and the request's started first).
func (u *Upstream) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= u.cfg.Timeout {
		return ctx, nil
	}
	return context.WithTimeout(ctx, u.cfg.Timeout)
}

// stop calls cancel unless it is nil.
func stop(cancel context.CancelFunc) {
	if cancel != nil {
		cancel()
	}
}

// acceptFHIR is the Accept header of every call (never modified: the
// transport only reads a request's headers).
var acceptFHIR = []string{"application/fhir+json"}

// cancelOnClose releases the call's timeout when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// logFault logs a failed answer: its status and the issue codes of an
// OperationOutcome, never the diagnostics, which may name a member.
func (u *Upstream) logFault(ctx context.Context, resp *http.Response) {
	var oo struct {
		Issue []struct {
			Code string `json:"code"`
		} `json:"issue"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&oo)
	resp.Body.Close()
	var codes []string
	for _, i := range oo.Issue {
		codes = append(codes, i.Code)
	}
	u.cfg.Logger.WarnContext(ctx, "fhir upstream answered with an error", "status", resp.StatusCode, "issues", strings.Join(codes, ","))
}
