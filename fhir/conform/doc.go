// Package conform checks FHIR R4 resources against the StructureDefinitions
// of HL7's CARIN Consumer Directed Payer Data Exchange IG (CARIN Blue Button,
// C4BB) 2.0.0, independently of the code that writes them.
//
// The IG package is HL7's published data (CC0), kept whole-file as a trimmed
// copy of the package tarball the Inferno CARIN test kit vendors
// (testdata/hl7.fhir.us.carin-bb-2.0.0.tgz: package.json, every
// StructureDefinition, ValueSet and CodeSystem, and HL7's examples); see
// testdata/README.md.
//
// Validate walks a resource against the snapshot of every profile its
// meta.profile declares and reports:
//
//   - cardinality of every element the snapshot lists, slices included;
//   - slices, found by their discriminators (value and pattern discriminators
//     by the slice's fixed or pattern value, or by membership in its
//     required binding; type discriminators by the JSON type suffix); a
//     missing required slice and an item no closed slicing admits;
//   - fixed and pattern values;
//   - required bindings: codes of ValueSets and CodeSystems in the package
//     are checked code by code; for code systems whose content HL7 does not
//     publish in the package (NUBC, NCPDP, X12, CPT, HCPCS, ICD-10, NDC,
//     NUCC…) only the system URI is checked, and the Issue says so; the few
//     FHIR core and THO value sets the profiles bind to (claim-type,
//     process-priority, subscriber-relationship, the status codes…) are
//     transcribed in core.go;
//   - reference targets of relative references ("Organization/x" where only
//     Organization or Practitioner may be named);
//   - primitive formats (date, dateTime, instant, positiveInt, decimal…),
//     JSON types and elements the snapshot does not know;
//   - the C4BB invariants listed in rules.go (the versioned meta.profile,
//     insurance.focal, adjudication slices, care team roles…); Unchecked
//     names the few FHIRPath invariants it does not evaluate;
//   - the US Core 3.1.1 race, ethnicity and birth sex extensions (whose
//     StructureDefinitions are not in the package) by the rules in
//     uscore.go.
//
// Coverage collects, over a data set, the must-support elements of each
// profile that appear in at least one resource, so a test can require every
// one of them somewhere.
//
// Base checks the same structure against the base FHIR R4 cardinalities
// (the snapshots' base.min/base.max) without the profiles' constraints: it
// is what the embedded store's intake applies to every resource of a type a
// C4BB profile covers.
package conform
