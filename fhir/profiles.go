package fhir

// CARIN Blue Button IG profile URLs (the same in STU 1.x and 2.0) the demo data claims and the
// CapabilityStatement lists as supported.
const (
	carinBase                    = "http://hl7.org/fhir/us/carin-bb/StructureDefinition/"
	ProfilePatient               = carinBase + "C4BB-Patient"
	ProfileCoverage              = carinBase + "C4BB-Coverage"
	ProfileEOBInpatient          = carinBase + "C4BB-ExplanationOfBenefit-Inpatient-Institutional"
	ProfileEOBOutpatient         = carinBase + "C4BB-ExplanationOfBenefit-Outpatient-Institutional"
	ProfileEOBProfessional       = carinBase + "C4BB-ExplanationOfBenefit-Professional-NonClinician"
	ProfileEOBPharmacy           = carinBase + "C4BB-ExplanationOfBenefit-Pharmacy"
	smartOAuthURIsExtension      = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
	restfulSecurityServiceSystem = "http://terminology.hl7.org/CodeSystem/restful-security-service"
)

// supportedProfiles lists the profiles per resource type.
func supportedProfiles(resourceType string) []string {
	switch resourceType {
	case "Patient":
		return []string{ProfilePatient}
	case "Coverage":
		return []string{ProfileCoverage}
	case "ExplanationOfBenefit":
		return []string{ProfileEOBInpatient, ProfileEOBOutpatient, ProfileEOBProfessional, ProfileEOBPharmacy}
	}
	return nil
}
