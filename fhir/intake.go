package fhir

import (
	"fmt"
	"strings"

	"github.com/patientaccess/gateway/fhir/conform"
)

// What intake checks. The embedded store's reader (ReadData: --data, the
// demo data, "gateway data check") refuses a resource unless:
//
//   - it is JSON, of a type the catalog serves, with a valid id, a
//     meta.lastUpdated instant and, for member data, a Patient/<id> owner
//     (prepare);
//   - it decodes with golang-fhir-models (catalog.Type.Decode), which
//     checks the JSON type of every element it knows (string, number,
//     object, array) and the codes of primitive code elements (an EOB
//     status of "finished" fails). It does not check required elements,
//     primitive formats (a created of "yesterday" decodes), or unknown
//     elements (it ignores them);
//   - it passes base FHIR R4 as the CARIN Blue Button package's snapshots
//     state it (conform.BaseValidator, our own check): every element's
//     base cardinality (an EOB without status, created, insurer or
//     insurance fails), the format of every primitive (date, dateTime,
//     instant, positiveInt, decimal, boolean, id, code, uri…), the JSON
//     type of primitives, and elements the resource type does not define.
//     This covers Patient, Coverage, ExplanationOfBenefit, Organization,
//     Practitioner and RelatedPerson, and the datatypes the snapshots
//     expand; PractitionerRole, Location and Medication (no C4BB profile)
//     get the first two checks only.
//
// Intake does not check profiles: conform.Validator.Validate does, in the
// tests, over the demo and generated data.

// maxIntakeIssues is how many base-FHIR issues one problem lists.
const maxIntakeIssues = 5

// checkBase returns an error naming what is not base FHIR R4 in raw.
func checkBase(typ, id string, raw []byte) error {
	v, err := conform.DefaultBase()
	if err != nil {
		return fmt.Errorf("base FHIR check unavailable: %w", err)
	}
	issues, _, err := v.Base(raw)
	if err != nil {
		return err
	}
	if len(issues) == 0 {
		return nil
	}
	msgs := make([]string, 0, min(len(issues), maxIntakeIssues))
	for _, i := range issues[:min(len(issues), maxIntakeIssues)] {
		msgs = append(msgs, i.String())
	}
	if more := len(issues) - len(msgs); more > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more", more))
	}
	return fmt.Errorf("%s/%s is not valid FHIR R4: %s", typ, id, strings.Join(msgs, "; "))
}
