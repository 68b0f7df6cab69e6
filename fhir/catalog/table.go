package catalog

import (
	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// CARIN Blue Button IG 2.0.0 profiles, versioned as C4BB 2.0.0 requires
// meta.profile and the CapabilityStatement to name them.
const (
	carinBase              = "http://hl7.org/fhir/us/carin-bb/StructureDefinition/"
	carinVersion           = "|2.0.0"
	ProfilePatient         = carinBase + "C4BB-Patient" + carinVersion
	ProfileCoverage        = carinBase + "C4BB-Coverage" + carinVersion
	ProfileOrganization    = carinBase + "C4BB-Organization" + carinVersion
	ProfilePractitioner    = carinBase + "C4BB-Practitioner" + carinVersion
	ProfileRelatedPerson   = carinBase + "C4BB-RelatedPerson" + carinVersion
	ProfileEOB             = carinBase + "C4BB-ExplanationOfBenefit" + carinVersion
	ProfileEOBInpatient    = carinBase + "C4BB-ExplanationOfBenefit-Inpatient-Institutional" + carinVersion
	ProfileEOBOutpatient   = carinBase + "C4BB-ExplanationOfBenefit-Outpatient-Institutional" + carinVersion
	ProfileEOBProfessional = carinBase + "C4BB-ExplanationOfBenefit-Professional-NonClinician" + carinVersion
	ProfileEOBPharmacy     = carinBase + "C4BB-ExplanationOfBenefit-Pharmacy" + carinVersion
	ProfileEOBOral         = carinBase + "C4BB-ExplanationOfBenefit-Oral" + carinVersion
)

// patientOwner is the owner of most member-data types: the "patient"
// search parameter on the "patient" element.
var patientOwner = Owner{Param: "patient", Element: "patient"}

func ref(name, path string, targets ...string) Param {
	return Param{Name: name, Kind: Reference, Path: path, Targets: targets}
}

func token(name, path string) Param { return Param{Name: name, Kind: Token, Path: path} }

func date(name, path string) Param { return Param{Name: name, Kind: Date, Path: path} }

// decoder adapts a golang-fhir-models Unmarshal function.
func decoder[T any](f func([]byte) (T, error)) func([]byte) error {
	return func(b []byte) error { _, err := f(b); return err }
}

// table is every type the gateway knows, in the order the
// CapabilityStatement and the consent page list them. Search parameter
// definitions are the FHIR R4 ones unless a CARIN Blue Button one is named.
var table = []*Type{
	{
		Name: "Patient", Kind: MemberData, Compartment: []string{"link"},
		Owner:    Owner{Param: "_id", Element: "id"},
		Params:   []Param{def(token("identifier", "identifier"), "Patient-identifier")},
		Profiles: []string{ProfilePatient},
		Label:    "basic details (name, birth date, contact information)",
		Category: CategoryAboutYou,
		decode:   decoder(models.UnmarshalPatient),
	},
	{
		Name: "Coverage", Kind: MemberData, Compartment: []string{"policy-holder", "subscriber", "beneficiary", "payor"},
		Owner: Owner{Param: "patient", Element: "beneficiary"},
		Params: []Param{
			def(ref("patient", "beneficiary", "Patient"), "Coverage-patient"),
			def(token("identifier", "identifier"), "Coverage-identifier"),
		},
		Includes: []Param{carin(ref("payor", "payor", "Organization", "Patient", "RelatedPerson"), "coverage-payor")},
		Profiles: []string{ProfileCoverage},
		Label:    "insurance coverage",
		Category: CategoryCoverage,
		decode:   decoder(models.UnmarshalCoverage),
	},
	{
		Name: "ExplanationOfBenefit", Kind: MemberData, Compartment: []string{"patient", "payee"},
		Owner: patientOwner,
		Params: []Param{
			carin(ref("patient", "patient", "Patient"), "explanationofbenefit-patient"),
			carin(token("identifier", "identifier"), "explanationofbenefit-identifier"),
			carin(token("type", "type"), "explanationofbenefit-type"),
			carin(date("service-date", "billablePeriod | item.servicedDate | item.servicedPeriod"), "explanationofbenefit-service-date"),
			carin(date("service-start-date", "billablePeriod.start | item.servicedDate | item.servicedPeriod.start"),
				"explanationofbenefit-service-start-date"),
			carin(date("billable-period-start", "billablePeriod.start"), "explanationofbenefit-billable-period-start"),
		},
		Includes: []Param{
			carin(ref("patient", "patient", "Patient"), "explanationofbenefit-patient"),
			carin(ref("coverage", "insurance.coverage", "Coverage"), "explanationofbenefit-coverage"),
			carin(ref("insurer", "insurer", "Organization"), "explanationofbenefit-insurer"),
			carin(ref("provider", "provider", "Organization", "Practitioner", "PractitionerRole"), "explanationofbenefit-provider"),
			carin(ref("care-team", "careTeam.provider", "Organization", "Practitioner", "PractitionerRole"), "explanationofbenefit-care-team"),
			carin(ref("payee", "payee.party", "Organization", "Practitioner", "PractitionerRole", "Patient", "RelatedPerson"),
				"explanationofbenefit-payee"),
		},
		Profiles: []string{ProfileEOB, ProfileEOBInpatient, ProfileEOBOutpatient, ProfileEOBProfessional, ProfileEOBPharmacy, ProfileEOBOral},
		Label:    "claims and payments (explanations of benefit)",
		Category: CategoryClaims,
		decode:   decoder(models.UnmarshalExplanationOfBenefit),
	},
	{
		Name: "RelatedPerson", Kind: MemberData, Compartment: []string{"patient"},
		Owner:    patientOwner,
		Params:   []Param{def(ref("patient", "patient", "Patient"), "RelatedPerson-patient")},
		Profiles: []string{ProfileRelatedPerson},
		Label:    "people related to you (such as a policy holder)",
		Category: CategoryAboutYou,
		decode:   decoder(models.UnmarshalRelatedPerson),
	},
	{
		Name: "Organization", Kind: Shared, Profiles: []string{ProfileOrganization},
		Label:    "organizations (your plan, hospitals, pharmacies)",
		Category: CategoryDirectory,
		decode:   decoder(models.UnmarshalOrganization),
	},
	{
		Name: "Practitioner", Kind: Shared, Profiles: []string{ProfilePractitioner},
		Label:    "care providers",
		Category: CategoryDirectory,
		decode:   decoder(models.UnmarshalPractitioner),
	},
	{
		Name: "PractitionerRole", Kind: Shared,
		Label:    "care providers' roles and locations",
		Category: CategoryDirectory,
		decode:   decoder(models.UnmarshalPractitionerRole),
	},
	{
		Name: "Location", Kind: Shared,
		Label:    "places of care",
		Category: CategoryDirectory,
		decode:   decoder(models.UnmarshalLocation),
	},
	{
		Name: "Medication", Kind: Shared,
		Label:    "drug product information",
		Category: CategoryPharmacy,
		decode:   decoder(models.UnmarshalMedication),
	},
}

// byName indexes table.
var byName = func() map[string]*Type {
	m := make(map[string]*Type, len(table))
	for _, t := range table {
		m[t.Name] = t
	}
	return m
}()

// def sets the definition of a FHIR R4 search parameter.
func def(p Param, id string) Param {
	p.Definition = searchParamBase + id
	return p
}

// carin sets the definition of a CARIN Blue Button search parameter.
func carin(p Param, id string) Param {
	p.Definition = "http://hl7.org/fhir/us/carin-bb/SearchParameter/" + id
	return p
}
