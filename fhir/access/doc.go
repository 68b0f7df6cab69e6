// Package access decides, without I/O, what a FHIR request may see: is the
// resource type served, does the token carry a patient context, does a
// granted SMART scope permit the interaction on the type (with SMART v2
// search restrictions honoured, not ignored). An allowed request gets a
// Constraint — the member's Patient, the scopes, the types served — that
// the Source query carries and that every returned resource must pass
// (Constraint.Check): member data only from the member's own compartment,
// shared reference data only of granted types. Everything not explicitly
// allowed is denied.
//
// References: SMART App Launch 2.x "Scopes and Launch Context"; FHIR R4
// CompartmentDefinition "patient" (see fhir/catalog for each type's link).
package access
