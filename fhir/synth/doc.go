// Package synth generates synthetic member data in the profiles of CARIN
// Blue Button 2.0.0: Patients (with US Core race, ethnicity and birth
// sex), Coverages paid by the plan's Organization, RelatedPersons for
// dependants' subscribers, provider Organizations and Practitioners with
// NPI-shaped identifiers no real provider has (they begin with 9), and
// ExplanationOfBenefits of the five kinds (inpatient and outpatient
// institutional, professional/non-clinician, pharmacy, oral) with ICD-10
// diagnoses and procedures, CPT, CDT and NDC codes, and adjudication
// amounts that add up (allowed under billed; deductible, copay and
// coinsurance to the member; the rest paid to the provider).
//
// Everything is a function of the options: the same Members and Seed give
// the same bytes. Each member is drawn from its own random stream, so
// members are built in parallel. The two demo members, alice and bob,
// are fixed and part of every set; their resources are the gateway's
// embedded demo data (fhir/demo, written by TestDemoFiles).
package synth
