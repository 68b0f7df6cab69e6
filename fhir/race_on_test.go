//go:build race

package fhir

// raceEnabled: the race detector doubles what bytes.Buffer allocates as it
// grows (the make and the append of its growSlice are both kept).
const raceEnabled = true
