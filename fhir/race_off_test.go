//go:build !race

package fhir

// raceEnabled: see race_on_test.go.
const raceEnabled = false
