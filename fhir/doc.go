// Package fhir is the gateway's FHIR R4 resource server: read and
// search-type on Patient, Coverage and ExplanationOfBenefit for one member's
// patient compartment, the public CapabilityStatement, Bundles and paging,
// OperationOutcome errors, and the embedded member-data store with its
// synthetic demo data (CARIN Blue Button profiles).
//
// FHIR data passes through unchanged: resources are kept and served as the
// raw JSON bytes they arrived as (compacted once on entry). They are decoded
// with golang-fhir-models only to validate them and with a small struct to
// find their patient compartment; they are never re-encoded from Go structs,
// which would drop primitive extensions such as _birthDate.
//
// Bearer tokens are checked through TokenChecker, which this package
// declares and the authorization server implements; the access decision
// itself is the pure function in fhir/access.
package fhir
