package fhir

import (
	"context"
	"fmt"
	"slices"
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
