package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// DemoMemberIDSystem is the identifier system of the demo Patients' member
// ids (alice-1001 is DEMO-M-1001, bob-2002 is DEMO-M-2002), for linking
// members signed in through an OpenID provider by identifier.
const DemoMemberIDSystem = "https://synthetic-health-plan.example/member-id"

// FindPatients returns the ids, sorted, of every Patient with an identifier
// of exactly that system and value: the search Patient?identifier=system|value
// (FHIR R4 search.html §3.1.1.4.5), case-sensitive as token search on
// Identifier is. The gateway uses it to link a signed-in member to their
// Patient; it does not search across compartments for apps.
func (s *MemorySource) FindPatients(_ context.Context, system, value string) ([]string, error) {
	if system == "" || value == "" {
		return nil, errors.New("fhir: find patients: system and value are required")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for _, r := range s.byKey {
		if r.typ.Name != "Patient" {
			continue
		}
		var p struct {
			Identifier []struct {
				System string `json:"system"`
				Value  string `json:"value"`
			} `json:"identifier"`
		}
		if err := json.Unmarshal(r.raw, &p); err != nil {
			return nil, fmt.Errorf("fhir: find patients: Patient/%s: %w", r.id, err)
		}
		for _, id := range p.Identifier {
			if id.System == system && id.Value == value {
				ids = append(ids, r.id)
				break
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// PatientExists reports whether the Patient with that id is stored.
func (s *MemorySource) PatientExists(_ context.Context, id string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.byKey["Patient/"+id]
	return ok, nil
}
