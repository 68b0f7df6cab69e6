package synth

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Resource is one generated resource, encoded.
type Resource struct {
	Type, ID string
	JSON     []byte // compact JSON, resourceType first
	// Member is the index in the set of the member the resource belongs
	// to (0 and 1 are alice and bob), -1 for shared resources.
	Member int
}

func encode(o O) Resource {
	b, err := marshal(o)
	if err != nil {
		panic(err) // O holds only strings, numbers, booleans, O and A
	}
	return Resource{Type: o[0].V.(string), ID: o[1].V.(string), JSON: b, Member: -1}
}

// resources are a member's Patient, Coverage, RelatedPerson (for a
// dependant) and ExplanationOfBenefits, in that order.
func (m *member) resources(index int) []Resource {
	out := []Resource{encode(m.patient()), encode(m.coverage())}
	if m.relationship != "self" {
		out = append(out, encode(m.relatedPerson()))
	}
	for _, c := range m.claims {
		out = append(out, encode(m.eob(c)))
	}
	for i := range out {
		out[i].Member = index
	}
	return out
}

var sudDiagnosis = code{"F11.20", "Opioid dependence, uncomplicated"}

// demoMembers are alice and bob: fixed, whatever the seed, with every
// EOB kind and the variants (related claims, header and item amounts, an
// ambulance transport, a compound, a rejected fill, a claim labelled 42 CFR
// Part 2) that together show every must-support element of C4BB 2.0.0.
func demoMembers() []*member {
	alice := &member{patientID: "alice-1001", coverageID: "cov-alice-1001", number: "DEMO-M-1001",
		family: "Synthetic", given: "Alice", gender: "female", birthDate: "1985-04-12", birthTime: "1985-04-12T08:30:00-05:00",
		text: "Alice Synthetic &amp; demo member &lt;not a real person&gt;", line: "100 Example Way", town: 0,
		race: races[2], ethnicity: ethnicities[0], relationship: "self",
		updated: "2024-01-05T09:00:00Z", covUpdated: "2024-01-02T00:00:00Z", coverageStart: "2024-01-01", covEnd: "2024-12-31"}
	alice.claims = []claim{
		{id: "eob-alice-1001-1", kind: Inpatient, start: "2024-02-10", end: "2024-02-13", updated: "2024-03-01T10:00:00Z", headerAmounts: true, related: true, provider: 0, prescriber: 0},
		{id: "eob-alice-1001-2", kind: Outpatient, start: "2024-03-05", end: "2024-03-05", updated: "2024-03-20T09:15:00Z", related: true, provider: 0, prescriber: 2},
		{id: "eob-alice-1001-3", kind: Professional, start: "2024-04-02", end: "2024-04-02", updated: "2024-04-15T14:30:00Z", related: true, provider: 1, prescriber: 4},
		{id: "eob-alice-1001-4", kind: Pharmacy, start: "2024-05-10", end: "2024-05-10", updated: "2024-05-12T08:00:00Z", compound: true, related: true, provider: 3, prescriber: 4},
		{id: "eob-alice-1001-5", kind: Oral, start: "2024-06-20", end: "2024-06-20", updated: "2024-07-01T11:45:00Z", related: true, provider: 4, prescriber: 4},
		{id: "eob-alice-1001-6", kind: Pharmacy, start: "2024-08-01", end: "2024-08-01", updated: "2024-08-03T16:20:00Z", rejected: true, provider: 9, prescriber: 6},
		{id: "eob-alice-1001-7", kind: Outpatient, start: "2024-09-09", end: "2024-09-09", updated: "2024-09-30T12:00:00Z", headerAmounts: true, provider: 6, prescriber: 0},
		{id: "eob-alice-1001-8", kind: Professional, start: "2024-09-09", end: "2024-09-09", updated: "2024-09-18T16:05:00Z", sensitive: true, diagnosis: &sudDiagnosis, provider: 7, prescriber: 8},
	}
	bob := &member{patientID: "bob-2002", coverageID: "cov-bob-2002", number: "DEMO-M-2002",
		family: "Synthetic", given: "Bob", gender: "male", birthDate: "1979-11-30", birthTime: "1979-11-30T22:10:00-05:00",
		text: "Bob Synthetic &amp; demo member &lt;not a real person&gt;", line: "100 Example Way", town: 0,
		race: races[1], ethnicity: ethnicities[1], relationship: "spouse", subscriberFamily: "Synthetic", subscriberGiven: "Carla",
		updated: "2024-01-06T09:00:00Z", covUpdated: "2024-01-02T00:00:01Z", rpUpdated: "2024-01-02T00:00:02Z", coverageStart: "2024-01-01", covEnd: "2024-12-31"}
	bob.claims = []claim{
		{id: "eob-bob-2002-1", kind: Inpatient, start: "2024-01-15", end: "2024-01-17", updated: "2024-02-01T10:00:00Z", related: true, provider: 0, prescriber: 10},
		{id: "eob-bob-2002-2", kind: Outpatient, start: "2024-02-12", end: "2024-02-12", updated: "2024-02-28T13:00:00Z", provider: 12, prescriber: 2},
		{id: "eob-bob-2002-3", kind: Professional, start: "2024-03-18", end: "2024-03-18", updated: "2024-04-01T15:00:00Z", ambulance: true, provider: 13, prescriber: 10},
		{id: "eob-bob-2002-4", kind: Pharmacy, start: "2024-04-22", end: "2024-04-22", updated: "2024-04-23T07:30:00Z", provider: 15, prescriber: 10},
		{id: "eob-bob-2002-5", kind: Oral, start: "2024-05-06", end: "2024-05-06", updated: "2024-05-20T10:30:00Z", provider: 16, prescriber: 14},
	}
	for _, m := range []*member{alice, bob} {
		for i := range m.claims {
			c := &m.claims[i]
			c.number = "DEMO-" + c.id
			c.seed = uint64(i+1)*0x9E3779B9 + uint64(len(m.patientID))
		}
	}
	return []*member{alice, bob}
}

// DemoProviders is how many of the provider pool the demo members use.
const DemoProviders = 20

// Demo returns the demo data: alice's and bob's resources, the plan's
// Organization and the DemoProviders first provider organizations and
// practitioners. It depends on nothing: every call returns the same bytes.
func Demo() []Resource {
	out := directory(DemoProviders)
	for i, m := range demoMembers() {
		out = append(out, m.resources(i)...)
	}
	return out
}

// directory is the payer and n providers and practitioners.
func directory(n int) []Resource {
	out := []Resource{encode(payer())}
	for i := range n {
		out = append(out, encode(provider(i)))
	}
	for i := range n {
		out = append(out, encode(practitioner(i)))
	}
	return out
}

// Options say what Generate writes.
type Options struct {
	// Members is the number of members in all, the two demo members
	// included (at least 2).
	Members int
	// Seed makes the data: the same seed and Members give the same bytes.
	Seed uint64
	// Claims is the mean number of EOBs of a generated member (default 6).
	Claims int
}

// syntheticMember builds generated member i (counted from 0 after the demo
// members) from its own random stream, so members can be built in any
// order or in parallel and still come out the same.
func syntheticMember(o Options, i int) *member {
	r := rand.New(rand.NewPCG(o.Seed, uint64(i)+1))
	gender := []string{"female", "male"}[r.IntN(2)]
	n := fmt.Sprintf("%07d", i+1)
	birth := time.Date(1940+r.IntN(80), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	m := &member{patientID: "pat-" + n, coverageID: "cov-" + n, number: "M" + n,
		family: familyNames[r.IntN(len(familyNames))], given: givenNames[gender][r.IntN(len(givenNames[gender]))], gender: gender,
		birthDate: birth.Format(time.DateOnly), line: fmt.Sprintf("%d %s Road", 1+r.IntN(999), familyNames[r.IntN(len(familyNames))]),
		town: r.IntN(len(towns)), race: races[r.IntN(len(races))], ethnicity: ethnicities[r.IntN(len(ethnicities))],
		deceased: r.IntN(200) == 0, relationship: []string{"self", "self", "self", "spouse", "child"}[r.IntN(5)],
		coverageStart: "2024-01-01", covEnd: "2024-12-31", rng: r}
	m.subscriberFamily, m.subscriberGiven = m.family, givenNames["female"][r.IntN(10)]
	stamp := func(d string, minute int) string {
		return fmt.Sprintf("%sT%02d:%02d:00Z", d, 6+minute/60%12, minute%60)
	}
	m.updated = stamp("2024-01-0"+fmt.Sprint(1+i%7), i%720)
	m.covUpdated, m.rpUpdated = stamp("2024-01-01", i%720), stamp("2024-01-02", i%720)
	mean := o.Claims
	if mean <= 0 {
		mean = 6
	}
	pool := ProviderCount(o.Members)
	for k := range r.IntN(2*mean + 1) {
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(350))
		c := claim{id: fmt.Sprintf("eob-%s-%d", n, k+1), number: fmt.Sprintf("C%s-%d", n, k+1),
			kind: Kind([]int{0, 1, 1, 2, 2, 2, 3, 3, 3, 4}[r.IntN(10)]), start: start.Format(time.DateOnly),
			provider: r.IntN(pool), prescriber: r.IntN(pool - 1), seed: r.Uint64(),
			headerAmounts: r.IntN(2) == 0, related: r.IntN(20) == 0, ambulance: r.IntN(30) == 0,
			compound: r.IntN(20) == 0, rejected: r.IntN(25) == 0}
		length := 0
		if c.kind == Inpatient {
			length = 1 + r.IntN(6)
		}
		c.end = start.AddDate(0, 0, length).Format(time.DateOnly)
		c.updated = stamp(start.AddDate(0, 0, length+10+r.IntN(20)).Format(time.DateOnly), r.IntN(720))
		m.claims = append(m.claims, c)
	}
	return m
}
