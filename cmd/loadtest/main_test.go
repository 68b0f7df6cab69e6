package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the harness for a moment on the embedded store: it
// starts, mints tokens through the real flow, drives every scenario and
// prints a row for each target with no errors through the gateway.
func TestSmoke(t *testing.T) {
	var out bytes.Buffer
	o := options{Duration: 300 * time.Millisecond, Clients: 2, Stores: []string{"memory"}, Out: &out}
	if err := run(context.Background(), o); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{"FHIR read by id", "EOB search by patient", "refresh grant", "bare ReverseProxy", "plain handler", "peak RSS"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "| gateway |") && !strings.Contains(line, "| 0 |") {
			t.Errorf("the gateway answered errors: %s", line)
		}
	}
	if err := run(context.Background(), options{Duration: time.Hour, Clients: 2, Out: &out}); err == nil {
		t.Error("an unbounded run was accepted")
	}
}
