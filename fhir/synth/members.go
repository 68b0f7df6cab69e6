package synth

import (
	"fmt"
	"math/rand/v2"
)

// member is everything the generator writes about one member.
type member struct {
	patientID, coverageID, number string
	family, given, gender         string
	birthDate, birthTime          string // birthTime: an optional _birthDate extension
	text                          string // an optional narrative
	line                          string
	town                          int
	race, ethnicity               code
	deceased                      bool
	// relationship is the member's to the subscriber (self, spouse, child):
	// other than self, the subscriber is a RelatedPerson.
	relationship          string
	subscriberFamily      string
	subscriberGiven       string
	updated, covUpdated   string
	rpUpdated             string
	coverageStart, covEnd string
	claims                []claim
	rng                   *rand.Rand
}

func (m *member) relatedPersonID() string { return "rp-" + m.patientID }

func (m *member) patient() O {
	t := towns[m.town%len(towns)]
	name := O{{"use", "usual"}, {"family", m.family}, {"given", A{m.given}}}
	p := O{{"resourceType", "Patient"}, {"id", m.patientID}, {"meta", meta(m.updated, profilePatient)}}
	if m.text != "" {
		p = append(p, F{"text", O{{"status", "generated"}, {"div", `<div xmlns="http://www.w3.org/1999/xhtml">` + m.text + `</div>`}}})
	}
	sex := map[string]string{"female": "F", "male": "M"}[m.gender]
	p = append(p,
		F{"extension", A{
			omb("http://hl7.org/fhir/us/core/StructureDefinition/us-core-race", m.race),
			omb("http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity", m.ethnicity),
			O{{"url", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"}, {"valueCode", sex}},
		}},
		F{"identifier", A{
			identifier(thoCS+"v2-0203", "MB", planBase+"member-id", m.number),
			identifier(c4bbCS+"C4BBIdentifierType", "um", planBase+"unique-member-id", "U"+m.number),
		}},
		F{"active", true},
		F{"name", A{name}},
		F{"telecom", A{O{{"system", "phone"}, {"value", fmt.Sprintf("555-01%02d", m.town*7%100)}, {"use", "home"}}}},
		F{"gender", m.gender},
		F{"birthDate", m.birthDate},
	)
	if m.birthTime != "" {
		p = append(p, F{"_birthDate", O{{"extension", A{O{{"url", "http://hl7.org/fhir/StructureDefinition/patient-birthTime"}, {"valueDateTime", m.birthTime}}}}}})
	}
	p = append(p,
		F{"deceasedBoolean", m.deceased},
		F{"address", A{O{{"use", "home"}, {"line", A{m.line}}, {"city", t.city}, {"state", t.state}, {"postalCode", t.zip}, {"country", "US"},
			{"period", O{{"start", m.coverageStart}}}}}},
		F{"communication", A{O{{"language", cc("urn:ietf:bcp:47", "en-US", "English (United States)")}, {"preferred", true}}}},
	)
	return p
}

func omb(url string, c code) O {
	return O{{"url", url}, {"extension", A{
		O{{"url", "ombCategory"}, {"valueCoding", coding(sysRace, c.code, c.display)}},
		O{{"url", "text"}, {"valueString", c.display}},
	}}}
}

func (m *member) coverage() O {
	subscriber := ref("Patient", m.patientID, "")
	if m.relationship != "self" {
		subscriber = ref("RelatedPerson", m.relatedPersonID(), "")
	}
	rel := map[string]string{"self": "Self", "spouse": "Spouse", "child": "Child"}[m.relationship]
	return O{
		{"resourceType", "Coverage"}, {"id", m.coverageID}, {"meta", meta(m.covUpdated, profileCoverage)},
		{"identifier", A{identifier(thoCS+"v2-0203", "MB", planBase+"member-id", m.number)}},
		{"status", "active"},
		{"type", cc("http://terminology.hl7.org/CodeSystem/v3-ActCode", "HIP", "health insurance plan policy")},
		{"subscriber", subscriber},
		{"subscriberId", m.number},
		{"beneficiary", ref("Patient", m.patientID, "")},
		{"relationship", cc(thoCS+"subscriber-relationship", m.relationship, rel)},
		{"period", O{{"start", m.coverageStart}, {"end", m.covEnd}}},
		{"payor", A{ref("Organization", PayerID, PlanName)}},
		{"class", A{
			O{{"type", cc(thoCS+"coverage-class", "group", "")}, {"value", "GRP-RCHP-01"}, {"name", "Riverbend Employers Group (synthetic)"}},
			O{{"type", cc(thoCS+"coverage-class", "plan", "")}, {"value", "PLAN-RCHP-PPO"}, {"name", "Riverbend PPO (synthetic)"}},
		}},
		{"network", "Riverbend Preferred Network"},
	}
}

// relatedPerson is the subscriber of a member covered as a dependant.
func (m *member) relatedPerson() O {
	t := towns[m.town%len(towns)]
	code, display := "SPS", "spouse"
	if m.relationship == "child" {
		code, display = "PRN", "parent"
	}
	rp := O{{"resourceType", "RelatedPerson"}, {"id", m.relatedPersonID()}, {"meta", meta(m.rpUpdated, profileRelatedPerson)}}
	if m.text != "" {
		rp = append(rp, F{"text", O{{"status", "generated"}, {"div", `<div xmlns="http://www.w3.org/1999/xhtml">` +
			m.subscriberGiven + " " + m.subscriberFamily + ", subscriber of a demo member &lt;not a real person&gt;</div>"}}})
	}
	return append(rp,
		F{"active", true},
		F{"patient", ref("Patient", m.patientID, "")},
		F{"relationship", A{cc("http://terminology.hl7.org/CodeSystem/v3-RoleCode", code, display)}},
		F{"name", A{O{{"family", m.subscriberFamily}, {"given", A{m.subscriberGiven}}}}},
		F{"telecom", A{O{{"system", "phone"}, {"value", fmt.Sprintf("555-02%02d", m.town*11%100)}, {"use", "mobile"}}}},
		F{"address", A{O{{"use", "home"}, {"line", A{m.line}}, {"city", t.city}, {"state", t.state}, {"postalCode", t.zip}, {"country", "US"}}}},
	)
}
