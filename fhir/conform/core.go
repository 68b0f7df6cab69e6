package conform

import "slices"

// coreCode is one code of a core value set; an empty code admits any code
// of the system (its content is not kept here).
type coreCode struct{ system, code string }

const tho = "http://terminology.hl7.org/CodeSystem/"

// coreValueSets are the value sets outside the C4BB package that its
// profiles bind with required strength, transcribed from FHIR R4 4.0.1 and
// HL7 Terminology (both CC0). A primitive code's system is "" (the
// element has none). NUCC's provider taxonomy (VSAC
// 2.16.840.1.114222.4.11.1066) is checked by system only.
var coreValueSets = map[string][]coreCode{
	"http://hl7.org/fhir/ValueSet/claim-type":                          codes(tho+"claim-type", "institutional", "oral", "pharmacy", "professional", "vision"),
	"http://hl7.org/fhir/ValueSet/process-priority":                    codes(tho+"processpriority", "stat", "normal", "deferred"),
	"http://hl7.org/fhir/ValueSet/subscriber-relationship":             codes(tho+"subscriber-relationship", "child", "parent", "spouse", "common", "other", "self", "injured"),
	"http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.114222.4.11.1066": {{system: "http://nucc.org/provider-taxonomy"}},
	"http://hl7.org/fhir/ValueSet/explanationofbenefit-status":         codes("", "active", "cancelled", "draft", "entered-in-error"),
	"http://hl7.org/fhir/ValueSet/fm-status":                           codes("", "active", "cancelled", "draft", "entered-in-error"),
	"http://hl7.org/fhir/ValueSet/claim-use":                           codes("", "claim", "preauthorization", "predetermination"),
	"http://hl7.org/fhir/ValueSet/remittance-outcome":                  codes("", "queued", "complete", "error", "partial"),
	"http://hl7.org/fhir/ValueSet/note-type":                           codes("", "display", "print", "printoper"),
	"http://hl7.org/fhir/ValueSet/identifier-use":                      codes("", "usual", "official", "temp", "secondary", "old"),
	"http://hl7.org/fhir/ValueSet/name-use":                            codes("", "usual", "official", "temp", "nickname", "anonymous", "old", "maiden"),
	"http://hl7.org/fhir/ValueSet/administrative-gender":               codes("", "male", "female", "other", "unknown"),
	"http://hl7.org/fhir/ValueSet/address-use":                         codes("", "home", "work", "temp", "old", "billing"),
	"http://hl7.org/fhir/ValueSet/address-type":                        codes("", "postal", "physical", "both"),
	"http://hl7.org/fhir/ValueSet/contact-point-system":                codes("", "phone", "fax", "email", "pager", "url", "sms", "other"),
	"http://hl7.org/fhir/ValueSet/contact-point-use":                   codes("", "home", "work", "temp", "old", "mobile"),
	"http://hl7.org/fhir/ValueSet/link-type":                           codes("", "replaced-by", "replaces", "refer", "seealso"),
	"http://hl7.org/fhir/ValueSet/quantity-comparator":                 codes("", "<", "<=", ">=", ">"),
}

func codes(system string, cs ...string) []coreCode {
	out := make([]coreCode, len(cs))
	for i, c := range cs {
		out[i] = coreCode{system: system, code: c}
	}
	return out
}

func sortStrings(s []string) { slices.Sort(s) }
