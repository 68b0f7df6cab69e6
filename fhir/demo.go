package fhir

import (
	"embed"
	"fmt"
	"io/fs"
)

// demoFiles are the synthetic demo resources, written by fhir/synth: for
// each demo member a CARIN Blue Button 2.0.0 Patient, Coverage and
// ExplanationOfBenefits of the five kinds (inpatient and outpatient
// institutional, professional/non-clinician, pharmacy, oral), bob's
// subscriber as a RelatedPerson, and the shared directory (the plan's and
// providers' Organizations, Practitioners) in one collection Bundle; every
// one with its versioned meta.profile and a fixed meta.lastUpdated. The
// directory is data files as --data reads them.
//
//go:embed demo
var demoFiles embed.FS

// DemoData is the embedded demo data as a DataSource named "demo".
func DemoData() DataSource {
	sub, err := fs.Sub(demoFiles, "demo")
	if err != nil {
		panic(err) // "demo" is a valid path: fs.Sub cannot fail
	}
	return DataSource{Name: "demo", FS: sub}
}

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

// LoadDemo adds the synthetic demo data to s, through the same reader as
// --data. It is deterministic: the same resources, byte for byte, every time.
func LoadDemo(s *MemorySource) error {
	d, err := ReadData(DemoData())
	if err != nil {
		return fmt.Errorf("fhir: demo data: %w", err)
	}
	return s.Load(d)
}
