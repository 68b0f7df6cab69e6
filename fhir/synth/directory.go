package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Profiles of C4BB 2.0.0, versioned as meta.profile must declare them.
const (
	c4bbSD               = "http://hl7.org/fhir/us/carin-bb/StructureDefinition/"
	profileVersion       = "|2.0.0"
	profilePatient       = c4bbSD + "C4BB-Patient" + profileVersion
	profileCoverage      = c4bbSD + "C4BB-Coverage" + profileVersion
	profileOrganization  = c4bbSD + "C4BB-Organization" + profileVersion
	profilePractitioner  = c4bbSD + "C4BB-Practitioner" + profileVersion
	profileRelatedPerson = c4bbSD + "C4BB-RelatedPerson" + profileVersion
	profileInpatient     = c4bbSD + "C4BB-ExplanationOfBenefit-Inpatient-Institutional" + profileVersion
	profileOutpatient    = c4bbSD + "C4BB-ExplanationOfBenefit-Outpatient-Institutional" + profileVersion
	profileProfessional  = c4bbSD + "C4BB-ExplanationOfBenefit-Professional-NonClinician" + profileVersion
	profilePharmacy      = c4bbSD + "C4BB-ExplanationOfBenefit-Pharmacy" + profileVersion
	profileOral          = c4bbSD + "C4BB-ExplanationOfBenefit-Oral" + profileVersion
)

// PayerID is the id of the plan's Organization, the insurer and payor of
// every claim and coverage.
const PayerID = "org-payer"

// PlanName is the fictional plan the data belongs to.
const PlanName = "Riverbend Community Health Plan (synthetic)"

// directoryUpdated is meta.lastUpdated of the shared directory resources.
const directoryUpdated = "2024-01-01T00:00:00Z"

func meta(lastUpdated, profile string) O {
	return O{{"lastUpdated", lastUpdated}, {"profile", A{profile}}}
}

// npi returns a 10-digit NPI-shaped number with a valid check digit
// (Luhn over the 80840 prefix) that begins with 9: CMS issues NPIs that
// begin with 1 or 2, so no real provider has one.
func npi(n int) string {
	base := fmt.Sprintf("9%08d", n%100000000)
	sum := 24 // the 80840 prefix's contribution
	for i := len(base) - 1; i >= 0; i-- {
		d := int(base[i] - '0')
		if (len(base)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return base + strconv.Itoa((10-sum%10)%10)
}

func identifier(typeSystem, typeCode, system, value string) O {
	return O{{"type", cc(typeSystem, typeCode, "")}, {"system", system}, {"value", value}}
}

func address(line, city, state, zip string) O {
	return O{{"use", "work"}, {"line", A{line}}, {"city", city}, {"state", state}, {"postalCode", zip}, {"country", "US"}}
}

// payer is the plan's Organization: insurer of every claim, payor of every
// coverage.
func payer() O {
	return O{
		{"resourceType", "Organization"}, {"id", PayerID}, {"meta", meta(directoryUpdated, profileOrganization)},
		{"identifier", A{
			identifier(thoCS+"v2-0203", "NPI", sysNPI, npi(1)),
			identifier(thoCS+"v2-0203", "TAX", sysTIN, "99-0000001"),
			O{{"type", cc(c4bbCS+"C4BBIdentifierType", "payerid", "")}, {"system", planBase + "payer-id"}, {"value", "RCHP1"}},
			identifier(c4bbCS+"C4BBIdentifierType", "naiccode", "urn:oid:2.16.840.1.113883.6.300", "99999"),
		}},
		{"active", true}, {"name", PlanName},
		{"telecom", A{O{{"system", "phone"}, {"value", "555-0100"}, {"use", "work"}}}},
		{"address", A{address("1 Plan Plaza (example)", "Riverbend", "MA", "01001")}},
	}
}

// ProviderCount is how many provider organizations and practitioners a
// set of n members draws on: one of each per 50 members, at least 20.
func ProviderCount(members int) int { return max(20, members/50) }

func providerID(i int) string     { return fmt.Sprintf("org-prov-%05d", i) }
func practitionerID(i int) string { return fmt.Sprintf("pract-%05d", i) }

var facilityKinds = []string{"Community Hospital", "Medical Group", "Family Practice", "Pharmacy", "Dental Care", "Imaging Center"}

// provider is the i-th provider organization; it depends on i alone, so the
// demo members' providers are the same in every generated set.
func provider(i int) O {
	r := rand.New(rand.NewPCG(0xD1EC7, uint64(i)))
	town := towns[i%len(towns)]
	name := fmt.Sprintf("%s %s (synthetic)", town.city, facilityKinds[i%len(facilityKinds)])
	return O{
		{"resourceType", "Organization"}, {"id", providerID(i)}, {"meta", meta(directoryUpdated, profileOrganization)},
		{"identifier", A{
			identifier(thoCS+"v2-0203", "NPI", sysNPI, npi(1000+i)),
			identifier(thoCS+"v2-0203", "TAX", sysTIN, fmt.Sprintf("99-%07d", 1000+i)),
		}},
		{"active", true}, {"name", name},
		{"telecom", A{O{{"system", "phone"}, {"value", fmt.Sprintf("555-%04d", r.IntN(10000))}, {"use", "work"}}}},
		{"address", A{address(fmt.Sprintf("%d Example Street", 1+r.IntN(999)), town.city, town.state, town.zip)}},
	}
}

// practitioner is the i-th practitioner, also fixed by i alone.
func practitioner(i int) O {
	r := rand.New(rand.NewPCG(0x9EAC7, uint64(i)))
	gender := []string{"female", "male"}[i%2]
	family := familyNames[r.IntN(len(familyNames))]
	given := givenNames[gender][r.IntN(len(givenNames[gender]))]
	tax := taxonomies[i%len(taxonomies)]
	return O{
		{"resourceType", "Practitioner"}, {"id", practitionerID(i)}, {"meta", meta(directoryUpdated, profilePractitioner)},
		{"identifier", A{
			identifier(thoCS+"v2-0203", "NPI", sysNPI, npi(500000+i)),
			identifier(thoCS+"v2-0203", "TAX", sysTIN, fmt.Sprintf("99-%07d", 500000+i)),
		}},
		{"name", A{O{{"family", family}, {"given", A{given}}, {"prefix", A{"Dr."}}}}},
		{"gender", gender},
		{"qualification", A{O{{"code", cc(sysNUCC, tax.code, tax.display)}}}},
	}
}

// practitionerTaxonomy is the NUCC code practitioner i is qualified as.
func practitionerTaxonomy(i int) code { return taxonomies[i%len(taxonomies)] }
