package access

import (
	"fmt"
	"strings"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// Labels is a set of security labels (FHIR meta.security codings) that
// mark records as sensitive: for example substance-use-disorder records
// protected by 42 CFR Part 2, behavioural health or reproductive health.
// Which labels count is the plan's configuration.
type Labels []catalog.Coding

// DefaultSensitiveLabels are the HL7 v3 ActCode labels for the kinds of
// record members most often want to keep back: 42 CFR Part 2 (the
// privacy law), substance use (ETH, SUD), behavioural and mental health
// (BH, PSY, PSYTHPN), sexual and reproductive health (SEX), HIV/AIDS (HIV)
// and sexually transmitted disease (STD).
func DefaultSensitiveLabels() Labels {
	const actCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	var out Labels
	for _, code := range []string{"42CFRPart2", "ETH", "SUD", "BH", "PSY", "PSYTHPN", "SEX", "HIV", "STD"} {
		out = append(out, catalog.Coding{System: actCode, Code: code})
	}
	return out
}

// ParseLabels reads a comma-separated list of "system|code" labels.
// Every malformed entry is reported at once.
func ParseLabels(s string) (Labels, error) {
	var out Labels
	var bad []string
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		c, err := catalog.ParseCoding(part)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		out = append(out, c)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("sensitive labels: %s", strings.Join(bad, "; "))
	}
	return out, nil
}

// Has reports whether any of codings is in the set.
func (l Labels) Has(codings []catalog.Coding) bool {
	for _, c := range codings {
		for _, s := range l {
			if c == s {
				return true
			}
		}
	}
	return false
}

// Withholds reports whether the constraint keeps the resource back
// because it carries a sensitive label the member did not choose to share.
func (c Constraint) Withholds(f catalog.Facts) bool { return c.Withheld.Has(f.Security) }
