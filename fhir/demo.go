package fhir

import (
	"embed"
	"fmt"
	"io/fs"
)

// demoFiles are the synthetic demo resources: for each demo member a
// CARIN Blue Button Patient, Coverage and ExplanationOfBenefits of the four
// kinds (inpatient and outpatient institutional, professional/non-clinician,
// pharmacy), every one with meta.profile and a fixed meta.lastUpdated.
//
//go:embed demo/*.json
var demoFiles embed.FS

// DemoMember is one synthetic demo member.
type DemoMember struct {
	Username    string // login name
	DisplayName string
	PatientID   string // the FHIR Patient id their tokens are limited to
}

// DemoMembers returns the demo members, alice and bob, with fixed Patient ids
// matching the demo data.
func DemoMembers() []DemoMember {
	return []DemoMember{
		{Username: "alice", DisplayName: "Alice Synthetic", PatientID: "alice-1001"},
		{Username: "bob", DisplayName: "Bob Synthetic", PatientID: "bob-2002"},
	}
}

// LoadDemo adds the synthetic demo data to s. It is deterministic: the same
// resources, byte for byte, every time.
func LoadDemo(s *MemorySource) error {
	names, err := fs.Glob(demoFiles, "demo/*.json")
	if err != nil {
		return fmt.Errorf("fhir: list demo data: %w", err)
	}
	for _, name := range names {
		raw, err := demoFiles.ReadFile(name)
		if err != nil {
			return fmt.Errorf("fhir: read demo data %s: %w", name, err)
		}
		if err := s.Add(raw); err != nil {
			return fmt.Errorf("fhir: load demo data %s: %w", name, err)
		}
	}
	return nil
}
