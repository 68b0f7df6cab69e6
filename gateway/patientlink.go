package gateway

import (
	"context"
	"errors"

	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/oauth"
)

// patientFinder is the identifier search a FHIR source offers for linking
// members (Patient?identifier=system|value across all Patients).
type patientFinder interface {
	FindPatients(ctx context.Context, system, value string) ([]string, error)
}

// patientLink adapts the FHIR source to the authorization server's
// oauth.PatientDirectory: whether a Patient id exists is a FHIR read of
// that Patient within its own compartment; which Patients carry a member
// identifier is the source's identifier search.
type patientLink struct {
	source  fhir.Source
	finder  patientFinder
	patient *catalog.Type
}

var _ oauth.PatientDirectory = patientLink{}

// newPatientLink adapts src, which must offer identifier search.
func newPatientLink(src fhir.Source) (patientLink, error) {
	finder, ok := src.(patientFinder)
	if !ok {
		return patientLink{}, errors.New("member sign-in: the FHIR source cannot search Patients by identifier")
	}
	t, ok := catalog.Lookup("Patient")
	if !ok {
		return patientLink{}, errors.New("member sign-in: the FHIR catalog has no Patient")
	}
	return patientLink{source: src, finder: finder, patient: t}, nil
}

// FindPatients implements oauth.PatientDirectory.
func (p patientLink) FindPatients(ctx context.Context, system, value string) ([]string, error) {
	return p.finder.FindPatients(ctx, system, value)
}

// PatientExists implements oauth.PatientDirectory with a FHIR read.
func (p patientLink) PatientExists(ctx context.Context, id string) (bool, error) {
	_, err := p.source.Read(ctx, fhir.ReadQuery{Type: p.patient, ID: id, Constraint: access.Constraint{Patient: id}})
	switch {
	case errors.Is(err, fhir.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}
