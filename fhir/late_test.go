package fhir

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// fakeLate is a LateChecker over fakeTokens: it knows (peeks) the tokens
// of known, and CheckAndRecord answers with err, recording the event in
// audit when err is nil. It counts the calls of each kind.
type fakeLate struct {
	fakeTokens
	audit *fakeAudit
	known map[string]bool

	mu               sync.Mutex
	err              error
	checks, confirms int
}

func (f *fakeLate) CheckToken(ctx context.Context, token string) (Access, error) {
	f.mu.Lock()
	f.checks++
	f.mu.Unlock()
	return f.fakeTokens.CheckToken(ctx, token)
}

func (f *fakeLate) PeekToken(token string) (Access, bool) {
	a, ok := f.fakeTokens[token]
	return a, ok && f.known[token]
}

func (f *fakeLate) CheckAndRecord(ctx context.Context, _ string, e Event) error {
	f.mu.Lock()
	f.confirms++
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.audit.RecordFHIR(ctx, e)
}

func newLateEnv(t *testing.T, src Source) (*testEnv, *fakeLate) {
	e := newTestEnvWith(t, src)
	late := &fakeLate{fakeTokens: e.h.Tokens.(fakeTokens), audit: e.audit, known: map[string]bool{"alice": true, "alice-patient": true}}
	e.h.Tokens = late
	return e, late
}

// TestLateCheck: with a LateChecker that knows the token and a local
// source, a read, a search and a refusal each make one step, the check
// and the record together (no CheckToken); a token found no longer live
// in that step is answered 401 whatever the call was going to answer,
// with nothing of the data, and the refusal is recorded instead; a step
// that fails is 503 and discloses nothing; a token the checker does not
// know is checked first, as without a LateChecker.
func TestLateCheck(t *testing.T) {
	src := NewMemorySource()
	if err := LoadDemo(src); err != nil {
		t.Fatal(err)
	}
	e, late := newLateEnv(t, src)
	alice := e.alice.PatientID
	read, search, denied := "/fhir/Patient/"+alice, "/fhir/ExplanationOfBenefit?patient="+alice, "/fhir/Coverage"
	for _, target := range []string{read, search} {
		if w := e.get("alice", target); w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", target, w.Code)
		}
	}
	if w := e.get("alice-patient", denied); w.Code != http.StatusForbidden {
		t.Fatalf("GET %s out of scope: %d, want 403", denied, w.Code)
	}
	if late.checks != 0 || late.confirms != 3 {
		t.Fatalf("%d token checks and %d confirmations, want 0 and 3", late.checks, late.confirms)
	}
	if got := e.audit.take(); len(got) != 3 || got[0].Outcome != "success" || got[0].Count != 1 || got[2].Outcome != "denied" {
		t.Fatalf("recorded %+v, want two successes and a refusal", got)
	}

	late.err = ErrInvalidToken
	for _, c := range []struct{ token, target string }{{"alice", read}, {"alice", search}, {"alice-patient", denied}} {
		w := e.get(c.token, c.target)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("GET %s with a token no longer live: %d %v, want 401 invalid_token", c.target, w.Code, w.Header())
		}
		if strings.Contains(w.Body.String(), alice) || w.Header().Get("ETag") != "" {
			t.Errorf("GET %s with a token no longer live disclosed data: %s", c.target, w.Body)
		}
		got := e.audit.take()
		if len(got) != 1 || got[0].Outcome != "denied" || got[0].Count != 0 || got[0].Member != "alice" {
			t.Errorf("GET %s with a token no longer live recorded %+v, want one refusal", c.target, got)
		}
	}

	late.err = errors.Join(ErrUnavailable, errStoreDown)
	for _, target := range []string{read, search, denied} {
		w := e.get("alice", target)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || strings.Contains(w.Body.String(), `"Patient"`) {
			t.Errorf("GET %s with the store failing: %d %s, want 503 with nothing of the data", target, w.Code, w.Body)
		}
	}
	if got := e.audit.take(); len(got) != 0 {
		t.Fatalf("recorded %+v with the store failing", got)
	}

	late.err, late.checks, late.confirms = nil, 0, 0
	if w := e.get("bob", "/fhir/Patient/"+e.bob.PatientID); w.Code != http.StatusOK {
		t.Fatalf("read with a token the checker does not know: %d", w.Code)
	}
	if late.checks != 1 || late.confirms != 0 {
		t.Fatalf("a token the checker does not know: %d checks and %d confirmations, want 1 and 0", late.checks, late.confirms)
	}
}

// remoteSource is a Source that is not a LocalSource.
type remoteSource struct{ Source }

// TestLateCheckNotBeforeRemoteSource: on a Source that is not local (an
// upstream server, where a read is an access), the token is checked
// before the Source is asked, even by a LateChecker that knows it.
func TestLateCheckNotBeforeRemoteSource(t *testing.T) {
	src := NewMemorySource()
	if err := LoadDemo(src); err != nil {
		t.Fatal(err)
	}
	e, late := newLateEnv(t, remoteSource{src})
	if w := e.get("alice", "/fhir/Patient/"+e.alice.PatientID); w.Code != http.StatusOK {
		t.Fatalf("read: %d", w.Code)
	}
	if late.checks != 1 || late.confirms != 0 {
		t.Fatalf("%d token checks and %d confirmations, want 1 and 0", late.checks, late.confirms)
	}
}
