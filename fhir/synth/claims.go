package synth

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Kind is one of the five CARIN Blue Button EOB kinds.
type Kind int

// The EOB kinds, each with its C4BB profile.
const (
	Inpatient Kind = iota
	Outpatient
	Professional
	Pharmacy
	Oral
)

// claim is the spec of one EOB; its codes and amounts come from rng.
type claim struct {
	id, number           string
	kind                 Kind
	start, end           string // service dates (billablePeriod)
	updated              string // meta.lastUpdated
	sensitive            bool   // labelled 42 CFR Part 2
	diagnosis            *code  // overrides the drawn principal diagnosis
	headerAmounts        bool   // institutional: amounts on the header, not the items
	related              bool   // replaces an earlier claim
	ambulance            bool   // professional: a transport, with its supporting information
	compound             bool   // pharmacy: a compound, with detail lines
	rejected             bool   // pharmacy: the item was rejected
	provider, prescriber int    // indexes into the provider and practitioner pools
	seed                 uint64
}

// day adds n days to a date.
func day(date string, n int) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		panic(err) // dates are the generator's own
	}
	return t.AddDate(0, 0, n).Format(time.DateOnly)
}

func category(system, code string) O { return cc(system, code, "") }

func supporting(seq int, code string, rest ...F) O {
	return append(O{{"sequence", seq}, {"category", category(c4bbCS+"C4BBSupportingInfoType", code)}}, rest...)
}

// amounts are one service's adjudication, in cents.
type amounts struct {
	submitted, allowed, deductible, copay, coinsurance, paid, member Money
}

// adjudicate prices a billed amount as a plan would: an allowed amount
// under the fee schedule, then deductible, copay and coinsurance.
func adjudicate(r *rand.Rand, billed Money, denied bool) amounts {
	a := amounts{submitted: billed}
	a.allowed = billed * Money(45+r.IntN(36)) / 100
	if denied {
		a.allowed = 0
		return a
	}
	if r.IntN(3) == 0 {
		a.deductible = min(a.allowed, Money(r.IntN(4))*5000)
	}
	if r.IntN(2) == 0 {
		a.copay = min(a.allowed-a.deductible, Money(1+r.IntN(4))*1000)
	}
	rest := a.allowed - a.deductible - a.copay
	if r.IntN(2) == 0 {
		a.coinsurance = rest / 5
	}
	a.member = a.deductible + a.copay + a.coinsurance
	a.paid = a.allowed - a.member
	return a
}

func (a *amounts) add(b amounts) {
	a.submitted += b.submitted
	a.allowed += b.allowed
	a.deductible += b.deductible
	a.copay += b.copay
	a.coinsurance += b.coinsurance
	a.paid += b.paid
	a.member += b.member
}

// entries are the amounts as adjudication (or total) entries.
func (a amounts) entries() A {
	e := func(system, code string, m Money) O {
		return O{{"category", category(system, code)}, {"amount", m}}
	}
	return A{
		e(thoCS+"adjudication", "submitted", a.submitted),
		e(thoCS+"adjudication", "eligible", a.allowed),
		e(thoCS+"adjudication", "deductible", a.deductible),
		e(thoCS+"adjudication", "copay", a.copay),
		e(c4bbCS+"C4BBAdjudication", "coinsurance", a.coinsurance),
		e(c4bbCS+"C4BBAdjudication", "memberliability", a.member),
		e(c4bbCS+"C4BBAdjudication", "paidtoprovider", a.paid),
	}
}

func discriminator(code string, rest ...F) O {
	return append(O{{"category", category(c4bbCS+"C4BBAdjudicationDiscriminator", code)}}, rest...)
}

func status(code string) F {
	return F{"reason", cc(c4bbCS+"C4BBPayerAdjudicationStatus", code, "")}
}

func adjustment(a amounts) O {
	return discriminator("adjustmentreason", F{"reason", cc(sysCARC, "45", "Charge exceeds fee schedule/maximum allowable")},
		F{"amount", a.submitted - a.allowed})
}

func careTeam(seq int, typ, id, roleSystem, role string, qual *code) O {
	o := O{{"sequence", seq}, {"provider", ref(typ, id, "")}, {"role", cc(roleSystem, role, "")}}
	if qual != nil {
		o = append(o, F{"qualification", cc(sysNUCC, qual.code, qual.display)})
	}
	return o
}

func diagnosisEntry(seq int, c code, typeSystem, typeCode string, extra ...F) O {
	return append(O{{"sequence", seq}, {"diagnosisCodeableConcept", cc(sysICD10CM, c.code, c.display)},
		{"type", A{cc(typeSystem, typeCode, "")}}}, extra...)
}

// eob builds one ExplanationOfBenefit of m.
func (m *member) eob(c claim) O {
	r := rand.New(rand.NewPCG(c.seed, 0xE0B))
	g := &eobBuilder{m: m, c: c, r: r}
	return g.build()
}

type eobBuilder struct {
	m     *member
	c     claim
	r     *rand.Rand
	total amounts
}

var kindProfile = [...]string{profileInpatient, profileOutpatient, profileProfessional, profilePharmacy, profileOral}
var kindType = [...]string{"institutional", "institutional", "professional", "pharmacy", "oral"}

func (g *eobBuilder) build() O {
	c, m := g.c, g.m
	mt := meta(c.updated, kindProfile[c.kind])
	if c.sensitive {
		mt = append(mt, F{"security", A{
			coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "42CFRPart2", "42 CFR Part 2"),
			coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "ETH", "substance abuse information sensitivity"),
		}})
	}
	e := O{{"resourceType", "ExplanationOfBenefit"}, {"id", c.id}, {"meta", mt},
		{"identifier", A{identifier(c4bbCS+"C4BBIdentifierType", "uc", planBase+"claim-id", c.number)}},
		{"status", "active"},
		{"type", cc(thoCS+"claim-type", kindType[c.kind], "")}}
	switch c.kind {
	case Inpatient:
		e = append(e, F{"subType", cc(c4bbCS+"C4BBInstitutionalClaimSubType", "inpatient", "Inpatient")})
	case Outpatient:
		e = append(e, F{"subType", cc(c4bbCS+"C4BBInstitutionalClaimSubType", "outpatient", "Outpatient")})
	}
	created := day(c.end, 3+g.r.IntN(10))
	e = append(e,
		F{"use", "claim"},
		F{"patient", ref("Patient", m.patientID, "")},
		F{"billablePeriod", O{{"start", c.start}, {"end", c.end}}},
		F{"created", created},
		F{"insurer", ref("Organization", PayerID, PlanName)},
		F{"provider", g.billing()},
	)
	if c.related {
		e = append(e, F{"related", A{O{{"relationship", cc(thoCS+"ex-relatedclaimrelationship", "prior", "")},
			{"reference", O{{"system", planBase + "claim-id"}, {"value", c.number + "-0"}}}}}})
	}
	e = append(e,
		F{"payee", O{{"type", cc(thoCS+"payeetype", "provider", "")}, {"party", ref("Organization", providerID(c.provider), "")}}},
		F{"outcome", "complete"},
	)
	e = append(e, g.kindParts()...)
	paid := g.total.paid
	payType := "paid"
	if c.rejected {
		payType = "denied"
	}
	e = append(e,
		F{"payment", O{{"type", cc(c4bbCS+"C4BBPayerAdjudicationStatus", payType, "")}, {"date", day(created, 7)}, {"amount", paid}}},
		F{"processNote", A{O{{"number", 1}, {"type", "display"}, {"text", "Synthetic demo claim: processed under the member's plan."}}}},
	)
	return e
}

// kindParts are the elements that differ by kind, from careTeam to total.
// billing is the billing provider: the dentist on an oral claim (C4BB Oral
// allows only a Practitioner), the provider organization otherwise.
func (g *eobBuilder) billing() O {
	if g.c.kind == Oral {
		return ref("Practitioner", practitionerID(g.c.prescriber), "")
	}
	return ref("Organization", providerID(g.c.provider), "")
}

func (g *eobBuilder) kindParts() []F {
	switch g.c.kind {
	case Inpatient, Outpatient:
		return g.institutional()
	case Professional:
		return g.professional()
	case Pharmacy:
		return g.pharmacy()
	default:
		return g.oral()
	}
}

func (g *eobBuilder) principal() code {
	if g.c.diagnosis != nil {
		return *g.c.diagnosis
	}
	return diagnoses[g.r.IntN(len(diagnoses))]
}

func (g *eobBuilder) secondary(not code) code {
	for {
		d := diagnoses[g.r.IntN(len(diagnoses))]
		if d != not {
			return d
		}
	}
}

func (g *eobBuilder) mrn(seq int) O {
	return supporting(seq, "medicalrecordnumber", F{"valueString", fmt.Sprintf("MRN-%s", g.m.number)})
}

func (g *eobBuilder) account(seq int) O {
	return supporting(seq, "patientaccountnumber", F{"valueString", fmt.Sprintf("ACCT-%s", g.c.number)})
}

func (g *eobBuilder) received(seq int) O {
	return supporting(seq, "clmrecvddate", F{"timingDate", day(g.c.end, 2)})
}

func (g *eobBuilder) insurance() F {
	return F{"insurance", A{O{{"focal", true}, {"coverage", ref("Coverage", g.m.coverageID, "")}}}}
}

func (g *eobBuilder) header(network ...string) F {
	adj := A{}
	for _, n := range network {
		adj = append(adj, discriminator(n, status("innetwork")))
	}
	adj = append(adj, discriminator("benefitpaymentstatus", status("innetwork")))
	return F{"adjudication", adj}
}

func (g *eobBuilder) totals() F { return F{"total", g.total.entries()} }

func (g *eobBuilder) institutional() []F {
	c, r := g.c, g.r
	inpatient := c.kind == Inpatient
	attending := c.prescriber
	team := A{
		careTeam(1, "Practitioner", practitionerID(attending), c4bbCS+"C4BBClaimCareTeamRole", "attending", nil),
		careTeam(2, "Organization", providerID(c.provider), c4bbCS+"C4BBClaimCareTeamRole", "rendering", nil),
		careTeam(3, "Practitioner", practitionerID(attending+1), c4bbCS+"C4BBClaimCareTeamRole", "referring", nil),
	}
	info := A{}
	seq := 1
	next := func() int { seq++; return seq - 1 }
	if inpatient {
		info = append(info, supporting(next(), "admissionperiod", F{"timingPeriod", O{{"start", c.start}, {"end", c.end}}}))
	}
	tob, origin, adm, dis := "0131", "1", "3", "01"
	if inpatient {
		tob, origin, adm = "0111", "2", "2"
	}
	info = append(info,
		g.received(next()),
		supporting(next(), "typeofbill", F{"code", cc(sysTOB, tob, "")}),
		supporting(next(), "pointoforigin", F{"code", cc(sysOrigin, origin, "")}),
		supporting(next(), "admtype", F{"code", cc(sysAdmType, adm, "")}),
		supporting(next(), "discharge-status", F{"code", cc(sysDischg, dis, "")}),
	)
	if inpatient {
		info = append(info, supporting(next(), "drg", F{"code", cc(sysMSDRG, []string{"470", "871", "392", "194"}[r.IntN(4)], "")}))
	}
	info = append(info, g.mrn(next()), g.account(next()))
	p := g.principal()
	var diags A
	if inpatient {
		poa := F{"onAdmission", cc(sysPOA, "Y", "")}
		diags = A{diagnosisEntry(1, p, thoCS+"ex-diagnosistype", "principal", poa),
			diagnosisEntry(2, g.secondary(p), c4bbCS+"C4BBClaimDiagnosisType", "other", poa)}
	} else {
		diags = A{diagnosisEntry(1, p, thoCS+"ex-diagnosistype", "principal"),
			diagnosisEntry(2, g.secondary(p), c4bbCS+"C4BBClaimDiagnosisType", "patientreasonforvisit")}
	}
	parts := []F{{"careTeam", team}, {"supportingInfo", info}, {"diagnosis", diags}}
	if inpatient {
		pr := procedures[r.IntN(len(procedures))]
		parts = append(parts, F{"procedure", A{O{{"sequence", 1}, {"type", A{cc(c4bbCS+"C4BBClaimProcedureType", "principal", "")}},
			{"date", c.start + "T09:00:00Z"}, {"procedureCodeableConcept", cc(sysICD10PCS, pr.code, pr.display)}}}})
	}
	parts = append(parts, g.insurance())
	var items A
	for i := range 1 + r.IntN(3) {
		rev := revenue[r.IntN(len(revenue))]
		svc := services[r.IntN(len(services))]
		qty := 1 + r.IntN(3)
		billed := svc.billed * Money(qty)
		if inpatient && rev.code == "0110" {
			billed = Money(120000+r.IntN(80000)) * Money(qty)
		}
		a := adjudicate(r, billed, false)
		g.total.add(a)
		item := O{{"sequence", i + 1}, {"revenue", cc(sysRevenue, rev.code, rev.display)},
			{"productOrService", cc(sysCPT, svc.code.code, svc.code.display)},
			{"modifier", A{cc(sysCPT, "25", "")}}}
		if !inpatient {
			item = append(item, F{"servicedDate", c.start})
		}
		item = append(item, F{"quantity", O{{"value", qty}}}, F{"noteNumber", A{1}})
		if !c.headerAmounts {
			adj := a.entries()
			adj = append(adj, adjustment(a), discriminator("allowedunits", F{"value", qty}))
			item = append(item, F{"adjudication", adj})
		}
		items = append(items, item)
	}
	parts = append(parts, F{"item", items})
	hdr := g.header("billingnetworkstatus")
	if c.headerAmounts {
		hdr.V = append(append(hdr.V.(A), g.total.entries()...), adjustment(g.total))
	}
	return append(parts, hdr, g.totals())
}

func (g *eobBuilder) professional() []F {
	c, r := g.c, g.r
	rendering := c.prescriber
	q := practitionerTaxonomy(rendering)
	team := A{
		careTeam(1, "Practitioner", practitionerID(rendering), c4bbCS+"C4BBClaimCareTeamRole", "rendering", &q),
		careTeam(2, "Practitioner", practitionerID(rendering+1), c4bbCS+"C4BBClaimCareTeamRole", "referring", nil),
	}
	info := A{g.received(1),
		supporting(2, "servicefacility", F{"valueReference", ref("Organization", providerID(c.provider), "")}),
		g.mrn(3), g.account(4)}
	var linked A
	if c.ambulance {
		info = append(info,
			supporting(5, "patientweight", F{"valueQuantity", O{{"value", 110 + r.IntN(150)}, {"unit", "[lb_av]"}, {"system", "http://unitsofmeasure.org"}, {"code", "[lb_av]"}}}),
			supporting(6, "ambulancetransportreason", F{"reason", coding("https://x12.org/codesystem.x12.org/ambulance-transport-reason-codes", "A", "")}),
			supporting(7, "transportationdistance", F{"valueQuantity", O{{"value", 3 + r.IntN(30)}, {"unit", "[mi_i]"}, {"system", "http://unitsofmeasure.org"}, {"code", "[mi_i]"}}}),
			supporting(8, "roudtrippurpose", F{"valueString", "Return home after treatment"}),
			supporting(9, "stretcherpurpose", F{"valueString", "Patient unable to sit upright"}),
			supporting(10, "pickuplocation", F{"valueString", "Emergency department, " + towns[g.m.town%len(towns)].city}),
			supporting(11, "dropofflocation", F{"valueString", "Member's home"}),
		)
		linked = A{5, 6, 7, 8, 9, 10, 11}
	}
	p := g.principal()
	diags := A{diagnosisEntry(1, p, thoCS+"ex-diagnosistype", "principal"),
		diagnosisEntry(2, g.secondary(p), c4bbCS+"C4BBClaimDiagnosisType", "secondary")}
	var items A
	for i := range 1 + r.IntN(2) {
		svc := services[r.IntN(len(services))]
		if c.ambulance && i == 0 {
			svc.code, svc.billed = code{"A0427", "Ambulance service, advanced life support, emergency transport, level 1"}, 95000
		}
		qty := 1
		a := adjudicate(r, svc.billed, false)
		g.total.add(a)
		product := cc(sysCPT, svc.code.code, svc.code.display)
		if c.ambulance && i == 0 {
			product = cc("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", svc.code.code, svc.code.display)
		}
		item := O{{"sequence", i + 1}}
		if len(linked) > 0 && i == 0 {
			item = append(item, F{"informationSequence", linked})
		}
		adj := append(a.entries(), adjustment(a), discriminator("benefitpaymentstatus", status("innetwork")),
			discriminator("allowedunits", F{"value", qty}))
		item = append(item, F{"productOrService", product}, F{"modifier", A{cc(sysCPT, "25", "")}},
			F{"servicedDate", c.start}, F{"locationCodeableConcept", cc(sysPOS, "11", "Office")},
			F{"quantity", O{{"value", qty}}}, F{"noteNumber", A{1}}, F{"adjudication", adj})
		items = append(items, item)
	}
	return []F{{"careTeam", team}, {"supportingInfo", info}, {"diagnosis", diags}, g.insurance(), {"item", items},
		{"adjudication", A{discriminator("billingnetworkstatus", status("innetwork")), discriminator("renderingnetworkstatus", status("innetwork"))}},
		g.totals()}
}

func (g *eobBuilder) pharmacy() []F {
	c, r := g.c, g.r
	drug := drugs[r.IntN(len(drugs))]
	days := []int{30, 30, 90}[r.IntN(3)]
	authorized := r.IntN(6)
	team := A{careTeam(1, "Practitioner", practitionerID(c.prescriber), c4bbCS+"C4BBClaimCareTeamRole", "prescribing", nil)}
	compound := "1"
	if c.compound {
		compound = "2"
	}
	quantity := func(v int) F { return F{"valueQuantity", O{{"value", v}}} }
	info := A{
		supporting(1, "dayssupply", quantity(days)),
		supporting(2, "dawcode", F{"code", cc(sysDAW, "0", "")}),
		supporting(3, "refillnum", quantity(r.IntN(authorized+1))),
		supporting(4, "refillsauthorized", quantity(authorized)),
		supporting(5, "brandgenericindicator", F{"code", cc(sysBrandGen, "2", "")}),
		supporting(6, "rxorigincode", F{"code", cc(sysRxOrigin, "1", "")}),
		g.received(7),
		supporting(8, "compoundcode", F{"code", cc(sysCompound, compound, "")}),
	}
	a := adjudicate(r, drug.cost*Money(days)/30, c.rejected)
	g.total.add(a)
	adj := a.entries()
	if c.rejected {
		adj = append(adj, discriminator("rejectreason", F{"reason", cc(sysReject, "79", "Refill Too Soon")}))
	}
	item := O{{"sequence", 1}, {"productOrService", cc(sysNDC, drug.code.code, drug.code.display)},
		{"servicedDate", c.start}, {"quantity", O{{"value", days}}}, {"noteNumber", A{1}}, {"adjudication", adj}}
	if c.compound {
		other := drugs[(r.IntN(len(drugs)-1)+1+indexOf(drug.code))%len(drugs)]
		item = append(item, F{"detail", A{
			O{{"sequence", 1}, {"productOrService", cc(sysNDC, drug.code.code, drug.code.display)}, {"quantity", O{{"value", days}}}},
			O{{"sequence", 2}, {"productOrService", cc(sysNDC, other.code.code, other.code.display)}, {"quantity", O{{"value", days}}}},
		}})
	}
	benefit := "innetwork"
	return []F{{"careTeam", team}, {"supportingInfo", info}, g.insurance(), {"item", A{item}},
		{"adjudication", A{discriminator("billingnetworkstatus", status("innetwork")), discriminator("benefitpaymentstatus", status(benefit))}},
		g.totals()}
}

func indexOf(c code) int {
	for i, d := range drugs {
		if d.code == c {
			return i
		}
	}
	return 0
}

func (g *eobBuilder) oral() []F {
	c, r := g.c, g.r
	dentist := c.prescriber
	q := code{"1223G0001X", "General Practice Dentist"}
	team := A{careTeam(1, "Practitioner", practitionerID(dentist), c4bbCS+"C4BBClaimCareTeamRole", "rendering", &q)}
	tooth := fmt.Sprint(2 + r.IntN(30))
	info := A{g.received(1),
		supporting(2, "servicefacility", F{"valueReference", ref("Organization", providerID(c.provider), "")}),
		supporting(3, "orthodontics", F{"valueQuantity", O{{"value", 0}}}),
		supporting(4, "prosthesis", F{"valueBoolean", false}),
		supporting(5, "additionalbodysite", F{"code", cc(sysTooth, tooth, "")}),
		supporting(6, "missingtoothnumber", F{"code", cc(sysTooth, "1", "")}),
		g.mrn(7), g.account(8)}
	p := code{"K02.52", "Dental caries on pit and fissure surface penetrating into dentin"}
	diags := A{diagnosisEntry(1, p, thoCS+"ex-diagnosistype", "principal")}
	var items A
	for i := range 1 + r.IntN(2) {
		svc := dental[r.IntN(len(dental))]
		a := adjudicate(r, svc.fee, false)
		g.total.add(a)
		item := O{{"sequence", i + 1}}
		if i == 0 {
			item = append(item, F{"informationSequence", A{5}})
		}
		adj := append(a.entries(), adjustment(a), discriminator("benefitpaymentstatus", status("innetwork")),
			discriminator("allowedunits", F{"value", 1}))
		item = append(item, F{"productOrService", cc(sysCDT, svc.code.code, svc.code.display)},
			F{"modifier", A{cc(sysCPT, "25", "")}},
			F{"servicedDate", c.start}, F{"locationCodeableConcept", cc(sysPOS, "11", "Office")},
			F{"bodySite", cc(sysTooth, tooth, "")}, F{"subSite", A{cc(sysSurface, "O", "Occlusal")}},
			F{"noteNumber", A{1}}, F{"adjudication", adj})
		items = append(items, item)
	}
	return []F{{"careTeam", team}, {"supportingInfo", info}, {"diagnosis", diags}, g.insurance(), {"item", items},
		{"adjudication", A{discriminator("billingnetworkstatus", status("innetwork")), discriminator("renderingnetworkstatus", status("innetwork")),
			discriminator("benefitpaymentstatus", status("innetwork"))}},
		g.totals()}
}
