// Package access decides, without I/O, whether a FHIR request may proceed:
// is the resource type served, does a granted SMART scope permit the
// interaction in patient context, and does a resource belong to the
// token's patient compartment. Everything not explicitly allowed is denied.
//
// References: SMART App Launch 2.x "Scopes and Launch Context"; FHIR R4
// CompartmentDefinition "patient" (Coverage.beneficiary,
// ExplanationOfBenefit.patient).
package access
