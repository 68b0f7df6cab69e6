package fhir

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func identifiedPatientJSON(id string, identifiers ...string) string {
	ids := ""
	for i := 0; i+1 < len(identifiers); i += 2 {
		if ids != "" {
			ids += ","
		}
		ids += fmt.Sprintf(`{"system":%q,"value":%q}`, identifiers[i], identifiers[i+1])
	}
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,"meta":{"lastUpdated":"2024-01-01T00:00:00Z"},"identifier":[%s]}`, id, ids)
}

// TestFindPatientsMatchesSystemAndValueExactly checks the identifier lookup
// that links a signed-in member to their Patient: system and value must
// both match exactly, every match is returned (so that the caller can
// refuse an ambiguous one), and other resource types are never matched.
func TestFindPatientsMatchesSystemAndValueExactly(t *testing.T) {
	const sys = "urn:test:member"
	s := NewMemorySource()
	for _, raw := range []string{
		identifiedPatientJSON("p1", sys, "M-1", "urn:other", "X"),
		identifiedPatientJSON("p2", "urn:other", "M-1"),
		identifiedPatientJSON("p3", sys, "M-3"),
		identifiedPatientJSON("p4", sys, "M-3"),
		identifiedPatientJSON("p5", sys, "m-1"),
		eobJSON("e1", "p1", "2024-01-01T00:00:00Z"),
	} {
		if err := s.Add([]byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		system, value string
		want          []string
	}{
		{sys, "M-1", []string{"p1"}},
		{"urn:other", "M-1", []string{"p2"}},
		{sys, "M-3", []string{"p3", "p4"}},
		{sys, "M-9", nil},
		{sys, "M-", nil},
		{"urn:test", "M-1", nil},
	}
	for _, tt := range tests {
		got, err := s.FindPatients(context.Background(), tt.system, tt.value)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("FindPatients(%q, %q) = %v, %v; want %v", tt.system, tt.value, got, err, tt.want)
		}
	}
	if _, err := s.FindPatients(context.Background(), "", "M-1"); err == nil {
		t.Error("FindPatients without a system searched anyway")
	}
	for id, want := range map[string]bool{"p1": true, "p4": true, "e1": false, "nope": false} {
		if got, err := s.PatientExists(context.Background(), id); err != nil || got != want {
			t.Errorf("PatientExists(%q) = %v, %v; want %v", id, got, err, want)
		}
	}
}

// TestDemoPatientsCarryMemberIDs checks that each demo member can be linked
// by identifier: their member id finds exactly their Patient.
func TestDemoPatientsCarryMemberIDs(t *testing.T) {
	s := loadDemo(t)
	for patient, memberID := range map[string]string{"alice-1001": "DEMO-M-1001", "bob-2002": "DEMO-M-2002"} {
		got, err := s.FindPatients(context.Background(), DemoMemberIDSystem, memberID)
		if err != nil || !slices.Equal(got, []string{patient}) {
			t.Errorf("FindPatients(%s) = %v, %v; want [%s]", memberID, got, err, patient)
		}
	}
}

// TestUpstreamFindPatients checks the identifier lookup against an
// upstream FHIR server: the query it sends (escaped as FHIR search
// requires, one page of a few), that only Patients carrying exactly that
// identifier count whatever the server matched, and that an answer it
// cannot trust is an error, never a guess.
func TestUpstreamFindPatients(t *testing.T) {
	const sys = "urn:test:member"
	twin := identifiedPatientJSON("twin", sys, "M-1")
	p1 := identifiedPatientJSON("p1", sys, "M-1")
	loose := identifiedPatientJSON("loose", sys, "m-1")
	eob := eobJSON("e1", "p1", "2024-01-01T00:00:00Z")
	tests := []struct {
		name    string
		value   string
		answer  []string // match entries
		next    string
		status  int
		want    []string
		wantErr error
	}{
		{name: "one", value: "M-1", answer: []string{p1}, want: []string{"p1"}},
		{name: "a loose match is not a match", value: "M-1", answer: []string{loose, p1}, want: []string{"p1"}},
		{name: "several", value: "M-1", answer: []string{twin, p1}, want: []string{"p1", "twin"}},
		{name: "none", value: "M-1", answer: nil, want: nil},
		{name: "more pages, one match", value: "M-1", answer: []string{p1}, next: "Patient?page=2", wantErr: ErrBadGateway},
		{name: "not a Patient", value: "M-1", answer: []string{eob}, wantErr: ErrBadGateway},
		{name: "upstream fails", value: "M-1", status: http.StatusInternalServerError, wantErr: ErrBadGateway},
		{name: "reserved characters", value: `a|b,c$d\e`, answer: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeUpstream(t)
			var seen url.Values
			f.misbehave = func(w http.ResponseWriter, r *http.Request) bool {
				seen = r.URL.Query()
				if tt.status != 0 {
					http.Error(w, `{"resourceType":"OperationOutcome"}`, tt.status)
					return true
				}
				next := ""
				if tt.next != "" {
					next = f.base() + "/" + tt.next
				}
				f.writeBundle(w, tt.answer, nil, next)
				return true
			}
			up, err := NewUpstream(UpstreamConfig{BaseURL: f.base()})
			if err != nil {
				t.Fatal(err)
			}
			got, err := up.FindPatients(context.Background(), sys, tt.value)
			if !errors.Is(err, tt.wantErr) || !slices.Equal(got, tt.want) {
				t.Fatalf("FindPatients = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			wantQuery := sys + "|" + strings.NewReplacer(`\`, `\\`, `|`, `\|`, `,`, `\,`, `$`, `\$`).Replace(tt.value)
			if seen.Get("identifier") != wantQuery || seen.Get("_count") != "10" {
				t.Errorf("upstream was asked identifier=%q _count=%q, want %q and 10", seen.Get("identifier"), seen.Get("_count"), wantQuery)
			}
		})
	}
}
