package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/fhir/access"
)

// sensitiveEOB is the demo claim labelled 42 CFR Part 2.
const sensitiveEOB = "eob-alice-1001-8"

// withSensitive configures the plan's sensitive labels and gives alice a
// token that opted in ("alice-opted-in") beside "alice-all", which did not.
func withSensitive(e *testEnv) {
	e.h.Sensitive = access.DefaultSensitiveLabels()
	tokens := e.h.Tokens.(fakeTokens)
	a := tokens["alice-all"]
	a.Sensitive = true
	tokens["alice-opted-in"] = a
}

// TestSensitiveReadLooksMissing: without the member's opt-in, a read of a
// labelled resource is answered exactly as a missing one; with it, the
// resource is served. The audit says why, for the plan.
func TestSensitiveReadLooksMissing(t *testing.T) {
	e := newTestEnv(t)
	withSensitive(e)
	missing := e.get("alice-all", "/fhir/ExplanationOfBenefit/no-such-claim")
	w := e.get("alice-all", "/fhir/ExplanationOfBenefit/"+sensitiveEOB)
	if w.Code != http.StatusNotFound || !bytes.Equal(w.Body.Bytes(), missing.Body.Bytes()) {
		t.Fatalf("read without opt-in: %d %s, want the missing answer %s", w.Code, w.Body, missing.Body)
	}
	events := e.audit.take()
	if last := events[len(events)-1]; last.Outcome != "denied" || !strings.Contains(last.Reason, "withheld") {
		t.Errorf("audit of the withheld read: %+v", last)
	}
	if w := e.get("alice-opted-in", "/fhir/ExplanationOfBenefit/"+sensitiveEOB); w.Code != http.StatusOK {
		t.Fatalf("read with opt-in: %d %s", w.Code, w.Body)
	}
}

// TestSensitiveLeftOutOfSearches: searches leave labelled resources out,
// and their total and paging count only what is served, so an app cannot
// tell that anything was withheld.
func TestSensitiveLeftOutOfSearches(t *testing.T) {
	e := newTestEnv(t)
	withSensitive(e)
	all := decodeBundle(t, e.get("alice-opted-in", "/fhir/ExplanationOfBenefit?_count=100"))
	if !slices.Contains(all.ids(t), sensitiveEOB) {
		t.Fatalf("the opted-in search lacks the labelled claim: %v", all.ids(t))
	}
	kept := decodeBundle(t, e.get("alice-all", "/fhir/ExplanationOfBenefit?_count=100"))
	if slices.Contains(kept.ids(t), sensitiveEOB) || kept.Total != all.Total-1 || len(kept.Entry) != kept.Total {
		t.Fatalf("search without opt-in: total %d, ids %v (opted in: %d)", kept.Total, kept.ids(t), all.Total)
	}
	// Page one at a time: the pages hold exactly the served claims.
	var paged []string
	next := "/fhir/ExplanationOfBenefit?_count=1"
	for next != "" {
		b := decodeBundle(t, e.get("alice-all", next))
		if b.Total != kept.Total {
			t.Fatalf("page total %d, want %d", b.Total, kept.Total)
		}
		paged = append(paged, b.ids(t)...)
		next = b.link("next")
	}
	if !slices.Equal(paged, kept.ids(t)) {
		t.Fatalf("paged %v, want %v", paged, kept.ids(t))
	}
	byID := decodeBundle(t, e.get("alice-all", "/fhir/ExplanationOfBenefit?_id="+sensitiveEOB))
	if byID.Total != 0 || len(byID.Entry) != 0 {
		t.Fatalf("_id search for the labelled claim found %d", byID.Total)
	}
}

// labelling is a Source that answers like an upstream that cannot filter:
// it returns labelled matches and includes and a total that counts them.
type labelling struct {
	Source
	match, include json.RawMessage
}

func (l labelling) Search(ctx context.Context, q Query) (Page, error) {
	p, err := l.Source.Search(ctx, q)
	p.Entries = append(p.Entries, l.match)
	p.Included = append(p.Included, l.include)
	p.Total = len(p.Entries)
	return p, err
}

// TestSensitiveLeftOutWhateverTheSource: a Source that returns labelled
// resources (an upstream cannot filter them) gets them left out by the
// Handler, matches and includes alike, and the total dropped.
func TestSensitiveLeftOutWhateverTheSource(t *testing.T) {
	base := loadDemo(t)
	label := `"meta":{"lastUpdated":"2024-01-01T00:00:00Z","security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"PSY"}]}`
	src := labelling{Source: base,
		match:   json.RawMessage(`{"resourceType":"Coverage","id":"cov-psy",` + label + `,"status":"active","beneficiary":{"reference":"Patient/alice-1001"},"payor":[{"reference":"Organization/o1"}]}`),
		include: json.RawMessage(`{"resourceType":"Organization","id":"org-psy",` + label + `}`),
	}
	e := newTestEnvWith(t, src)
	withSensitive(e)
	w := e.get("alice-all", "/fhir/Coverage?_include=Coverage:payor")
	if strings.Contains(w.Body.String(), "psy") {
		t.Fatalf("labelled resources left the gateway: %s", w.Body)
	}
	var b struct {
		Total *int `json:"total"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Total != nil {
		t.Fatalf("total %v (%v): a total that counted withheld resources must be dropped", b.Total, err)
	}
	w = e.get("alice-opted-in", "/fhir/Coverage?_include=Coverage:payor")
	if !strings.Contains(w.Body.String(), "cov-psy") || !strings.Contains(w.Body.String(), "org-psy") {
		t.Fatalf("opted in, the labelled resources are missing: %s", w.Body)
	}
}

// TestUpstreamGivesNoTotalWhileWithholding: an upstream's total counts what
// the gateway may withhold, so it is not passed on while the constraint
// withholds labels.
func TestUpstreamGivesNoTotalWhileWithholding(t *testing.T) {
	e, _, _ := upstreamEnv(t, UpstreamConfig{})
	withSensitive(e)
	for token, wantTotal := range map[string]bool{"alice-all": false, "alice-opted-in": true} {
		var b struct {
			Total *int `json:"total"`
		}
		w := e.get(token, "/fhir/Coverage")
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || (b.Total != nil) != wantTotal {
			t.Errorf("%s: total %v (%v), want present=%v", token, b.Total, err, wantTotal)
		}
	}
}
