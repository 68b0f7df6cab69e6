// Package fhir is the gateway's FHIR R4 resource server: read and
// search-type on the types fhir/catalog lists, for one member's patient
// compartment and the shared reference data the member's scopes allow; the
// public CapabilityStatement; searchset Bundles with _include and signed
// paging cursors; OperationOutcome errors; and the Sources member data
// comes from: the embedded MemorySource (with synthetic demo data in CARIN
// Blue Button profiles) or an upstream FHIR server.
//
// FHIR data passes through unchanged: resources are kept and served as the
// raw JSON bytes they arrived as (compacted once on entry to the embedded
// store). They are decoded only to check them on intake (golang-fhir-models
// decoding and the base FHIR check of fhir/conform: intake.go), to read
// the few facts the access check needs (catalog.Inspect), and to evaluate
// search parameters; they are never re-encoded from Go structs, which would
// drop primitive extensions such as _birthDate.
//
// Bearer tokens are checked through TokenChecker, which this package
// declares and the authorization server implements; the access decision
// itself is the pure function in fhir/access.
package fhir
