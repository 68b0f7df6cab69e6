// Package catalog is the one home of what the gateway knows about each FHIR
// R4 resource type it serves: whether it is one member's data or shared
// reference data, how a record is tied to its member (the R4 Patient
// CompartmentDefinition), which search parameters and _include targets work,
// which profiles it claims, the words members read for it, and how to
// decode it. The CapabilityStatement, the scopes in discovery, the consent
// page's labels, the search parser, the compartment check and every Source
// read from this table; adding a type is adding one entry.
//
// It is pure data and small functions over raw JSON; of ours it imports
// only fhir/internal/jscan, the one-pass JSON reader Inspect reads with.
package catalog
