package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// DemoMemberIDSystem is the identifier system of the demo Patients' member
// ids (alice-1001 is DEMO-M-1001, bob-2002 is DEMO-M-2002), for linking
// members signed in through an OpenID provider by identifier.
const DemoMemberIDSystem = "https://synthetic-health-plan.example/member-id"

// The member lookups below serve the authorization server, which links a
// member signed in through the plan's OpenID provider to their Patient.
// They search across compartments, so they are never exposed to apps.

// errLookupArgs refuses an identifier lookup without a system or value.
var errLookupArgs = errors.New("fhir: find patients: system and value are required")

// patientIdentified returns the id of raw, a Patient, and whether it has an
// identifier of exactly that system and value (FHIR token matching on
// Identifier is exact on both).
func patientIdentified(raw json.RawMessage, system, value string) (string, bool, error) {
	var p struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Identifier   []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.ResourceType != "Patient" || p.ID == "" {
		return "", false, fmt.Errorf("fhir: find patients: not a Patient with an id (%v)", err)
	}
	for _, id := range p.Identifier {
		if id.System == system && id.Value == value {
			return p.ID, true, nil
		}
	}
	return p.ID, false, nil
}

// FindPatients returns the ids, sorted, of every Patient with an identifier
// of exactly that system and value: Patient?identifier=system|value (FHIR
// R4 search.html, token search).
func (s *MemorySource) FindPatients(_ context.Context, system, value string) ([]string, error) {
	if system == "" || value == "" {
		return nil, errLookupArgs
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for _, r := range s.byKey {
		if r.typ.Name != "Patient" {
			continue
		}
		id, ok, err := patientIdentified(r.raw, system, value)
		if err != nil {
			return nil, err
		}
		if ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// upstreamLookupCount is the page size of an identifier lookup upstream:
// enough to see that a member id is ambiguous.
const upstreamLookupCount = 10

// FindPatients asks the upstream Patient?identifier=system|value (both
// parts escaped as FHIR search requires) and returns the ids, sorted, of
// the Patients it answers that carry exactly that identifier: servers
// differ in how loosely they match tokens, and nothing is guessed. An
// answer with more pages but fewer than two exact matches is not trusted.
func (u *Upstream) FindPatients(ctx context.Context, system, value string) ([]string, error) {
	if system == "" || value == "" {
		return nil, errLookupArgs
	}
	q := url.Values{"identifier": {escapeSearch(system) + "|" + escapeSearch(value)}}
	q.Set("_count", fmt.Sprint(upstreamLookupCount))
	page, err := u.search(ctx, "Patient?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("fhir: find patients upstream: %w", err)
	}
	var ids []string
	for _, raw := range page.Entries {
		id, ok, err := patientIdentified(raw, system, value)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", err, ErrBadGateway)
		}
		if ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if page.Next != "" && len(ids) < 2 {
		return nil, fmt.Errorf("fhir: find patients upstream: more pages but %d exact matches on the first: %w", len(ids), ErrBadGateway)
	}
	slices.Sort(ids)
	return ids, nil
}

// escapeSearch escapes a search value's reserved characters (FHIR R4
// search.html "Escaping search parameters": \ | , $).
func escapeSearch(s string) string {
	return strings.NewReplacer(`\`, `\\`, `|`, `\|`, `,`, `\,`, `$`, `\$`).Replace(s)
}

// PatientExists reports whether the Patient with that id is stored.
func (s *MemorySource) PatientExists(_ context.Context, id string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.byKey["Patient/"+id]
	return ok, nil
}
