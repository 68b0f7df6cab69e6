package conform

import (
	"slices"
	"strconv"
	"strings"
)

// invariant is a C4BB constraint (a FHIRPath invariant of the IG),
// evaluated in Go against the resource.
type invariant func(c *checker, res map[string]any)

// invariants maps the IG's constraint keys to their Go form. The care team
// rules are checked as their names and descriptions say: as published,
// their FHIRPath ("role.where(…).exists().provider") navigates from a
// Boolean and holds for every resource, and the pharmacy one names
// Organization where its key and description say practitioner. The keys of
// Unchecked are the ones left out; a test checks that together they are
// every key of the package.
var invariants = map[string]invariant{
	"EOB-insurance-focal":                                       insuranceFocal,
	"EOB-payee-other-type-requires-party":                       payeeOtherHasParty,
	"adjudication-has-amount-type-slice":                        itemAmountType,
	"EOB-institutional-item-or-header-adjudication":             headerXorItemAmounts,
	"EOB-inst-careTeam-practitioner":                            careTeamKind("Practitioner", "attending", "primary", "referring", "supervising"),
	"EOB-inst-careTeam-organization":                            careTeamKind("Organization", "rendering"),
	"EOB-prof-careTeam-practitioner":                            careTeamKind("Practitioner", "rendering", "primary", "referring", "supervising"),
	"EOB-pharm-careTeam-practitioner":                           careTeamKind("Practitioner", "primary", "prescribing"),
	"EOB-pharm-careTeam-organization":                           careTeamKind("Organization", "rendering"),
	"EOB-careteam-qualification":                                careTeamQualification,
	"EOB-vision-item-productorservice":                          visionOnlyNotApplicable,
	"EOB-prof-all-transportation-supportinginfo-linked-to-line": transportLinked,
	"Practitioner-identifier":                                   practitionerIdentifier,
	"relatedperson-name-or-relationship":                        func(c *checker, r map[string]any) { requireAny(c, r, "name", "relationship") },
	"uncontained-requires-lastUpdated":                          lastUpdated,
}

// Unchecked are the IG's invariants this package does not evaluate: the
// institutional point-of-origin rule for newborns (its FHIRPath compares
// code systems by a ValueSet name) and the oral claims' tooth and surface
// cross-references.
var Unchecked = []string{
	"EOB-inst-pointoforigin",
	"Oral-EOB-supportinginfo-additionalbodysite-requires-line-item",
	"Oral-line-item-with-linked-additionalbody-site-requires-bodysite",
	"Oral-EOB-surface-subsite-requires-tooth-number",
}

// invariants evaluates the profile's invariants on the resource.
func (c *checker) invariants(res map[string]any) {
	for _, key := range c.p.invariants {
		if strings.HasSuffix(key, "-meta-profile-version") {
			c.profileVersion(res)
			continue
		}
		if f := invariants[key]; f != nil {
			f(c, res)
		}
	}
}

// profileVersion: meta.profile names the profile with its 2.0 version.
func (c *checker) profileVersion(res map[string]any) {
	want := c.p.url + "|" + c.p.version[:strings.LastIndexByte(c.p.version, '.')+1]
	for _, d := range declaredProfiles(res) {
		if strings.HasPrefix(d, want) {
			return
		}
	}
	c.fail(c.p.typ+".meta.profile", "must name %s|%s (versioned)", c.p.url, c.p.version)
}

func list(obj map[string]any, key string) []map[string]any {
	var out []map[string]any
	switch v := obj[key].(type) {
	case []any:
		for _, x := range v {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
	case map[string]any:
		out = append(out, v)
	}
	return out
}

func insuranceFocal(c *checker, res map[string]any) {
	n := 0
	for _, ins := range list(res, "insurance") {
		if ins["focal"] == true {
			n++
		}
	}
	if n > 1 {
		c.fail("ExplanationOfBenefit.insurance", "%d insurances are focal; at most one may be", n)
	}
}

func payeeOtherHasParty(c *checker, res map[string]any) {
	for _, p := range list(res, "payee") {
		for _, cd := range codings(p["type"]) {
			if cd.system == tho+"payeetype" && cd.code == "other" && p["party"] == nil {
				c.fail("ExplanationOfBenefit.payee", "payee type other needs a party")
			}
		}
	}
}

const c4bbAdjudication = carinBase + "ValueSet/C4BBAdjudication"

func hasAmountType(c *checker, obj map[string]any) bool {
	vs := c.v.terms.lookup(c4bbAdjudication)
	return slices.ContainsFunc(list(obj, "adjudication"), func(a map[string]any) bool { return codeIn(a["category"], vs) })
}

func itemAmountType(c *checker, res map[string]any) {
	for i, item := range list(res, "item") {
		if item["adjudication"] != nil && !hasAmountType(c, item) {
			c.fail("ExplanationOfBenefit.item["+strconv.Itoa(i)+"].adjudication", "has no adjudication amount (a category of C4BBAdjudication)")
		}
	}
}

func headerXorItemAmounts(c *checker, res map[string]any) {
	header := hasAmountType(c, res)
	items := slices.ContainsFunc(list(res, "item"), func(it map[string]any) bool { return hasAmountType(c, it) })
	if header == items {
		c.fail("ExplanationOfBenefit.adjudication", "adjudication amounts must be on the header or on the items, not both or neither")
	}
}

// careTeamKind: care team members in these roles are of kind typ.
func careTeamKind(typ string, roles ...string) invariant {
	return func(c *checker, res map[string]any) {
		for i, m := range list(res, "careTeam") {
			if !slices.ContainsFunc(codings(m["role"]), func(cd coding) bool { return slices.Contains(roles, cd.code) }) {
				continue
			}
			prov, _ := m["provider"].(map[string]any)
			ref, _ := prov["reference"].(string)
			if ref != "" && !strings.HasPrefix(ref, typ+"/") && !strings.Contains(ref, "/"+typ+"/") {
				c.fail("ExplanationOfBenefit.careTeam["+strconv.Itoa(i)+"].provider", "a care team member in role %s must be a %s", strings.Join(roles, "/"), typ)
			}
		}
	}
}

func careTeamQualification(c *checker, res map[string]any) {
	vs := c.v.terms.lookup("http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.114222.4.11.1066")
	for i, m := range list(res, "careTeam") {
		rendering := slices.ContainsFunc(codings(m["role"]), func(cd coding) bool { return cd.code == "rendering" })
		if rendering && m["qualification"] != nil && !codeIn(m["qualification"], vs) {
			c.fail("ExplanationOfBenefit.careTeam["+strconv.Itoa(i)+"].qualification", "a rendering provider's qualification must be a NUCC provider taxonomy code")
		}
	}
}

func visionOnlyNotApplicable(c *checker, res map[string]any) {
	if slices.ContainsFunc(codings(res["type"]), func(cd coding) bool { return cd.code == "vision" }) {
		return
	}
	for i, item := range list(res, "item") {
		for _, cd := range codings(item["productOrService"]) {
			if cd.system == tho+"data-absent-reason" && cd.code == "not-applicable" {
				c.fail("ExplanationOfBenefit.item["+strconv.Itoa(i)+"].productOrService", "not-applicable is only for vision claims")
			}
		}
	}
}

func transportLinked(c *checker, res map[string]any) {
	vs := c.v.terms.lookup(carinBase + "ValueSet/C4BBTransportationServiceCategories")
	linked := map[string]bool{}
	for _, item := range list(res, "item") {
		seqs, _ := item["informationSequence"].([]any)
		for _, s := range seqs {
			linked[compact(normalize(s))] = true
		}
	}
	for i, si := range list(res, "supportingInfo") {
		if codeIn(si["category"], vs) && !linked[compact(normalize(si["sequence"]))] {
			c.fail("ExplanationOfBenefit.supportingInfo["+strconv.Itoa(i)+"]", "transportation information must be linked from an item's informationSequence")
		}
	}
}

func practitionerIdentifier(c *checker, res map[string]any) {
	for _, id := range list(res, "identifier") {
		if slices.ContainsFunc(codings(id["type"]), func(cd coding) bool { return cd.code == "NPI" || cd.code == "TAX" }) {
			return
		}
	}
	c.fail("Practitioner.identifier", "needs an identifier typed NPI or TAX")
}

func requireAny(c *checker, res map[string]any, keys ...string) {
	for _, k := range keys {
		if res[k] != nil {
			return
		}
	}
	c.fail(c.p.typ, "needs one of %s", strings.Join(keys, ", "))
}

func lastUpdated(c *checker, res map[string]any) {
	meta, _ := res["meta"].(map[string]any)
	if meta["lastUpdated"] == nil {
		c.fail(c.p.typ+".meta.lastUpdated", "is required of a resource that is not contained")
	}
}
