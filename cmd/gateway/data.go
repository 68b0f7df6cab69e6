package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/fhir/synth"
)

const dataUsage = `usage:
  gateway data check [--demo] DIR
  gateway data generate --members N [--seed S] [--claims C] --out DIR

Reads every .json (a FHIR Bundle of any type, or one resource), .ndjson and
.ndjson.gz file under DIR exactly as "gateway serve --data DIR" would,
without starting anything. With --demo, DIR is read together with the demo
data, as "serve --demo --data DIR" reads them. Prints the resources per
type and the members found and exits 0, or prints every problem by file
and line and exits 1. Exit status 2 is a mistake in the command line.

"generate" writes a synthetic plan's data into DIR as NDJSON, one file per
resource type, in the CARIN Blue Button 2.0.0 profiles: N members in all,
the demo members alice and bob among them, each with a Patient, a Coverage
and on average C ExplanationOfBenefits (default 6) of the five kinds, the
plan's Organization and provider Organizations and Practitioners. The same
N, S and C write the same bytes. Serve it with "gateway serve --data DIR".
`

// runData checks FHIR data directories.
func runData(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, dataUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return dataCheck(args[1:], stdout, stderr)
	case "generate":
		return dataGenerate(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, dataUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "gateway data: unknown command %q\n\n%s", args[0], dataUsage)
		return 2
	}
}

func dataCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway data check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, dataUsage) }
	demo := fs.Bool("demo", false, "read the demo data too, as serve --demo does")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "gateway data check: want one directory, got %d arguments (see: gateway data help)\n", fs.NArg())
		return 2
	}
	dir := fs.Arg(0)
	var sources []fhir.DataSource
	if *demo {
		sources = append(sources, fhir.DemoData())
	}
	d, err := fhir.ReadData(append(sources, fhir.DirData(dir))...)
	if err != nil {
		fmt.Fprintf(stderr, "gateway data check %s: %v\n", dir, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n%s", dir, d.Summary)
	return 0
}

func dataGenerate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway data generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, dataUsage) }
	members := fs.Int("members", 0, "members in all, the two demo members included (at least 2)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed writes the same data")
	claims := fs.Int("claims", 6, "mean ExplanationOfBenefits per generated member")
	out := fs.String("out", "", "directory to write the NDJSON files into")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "gateway data generate: unexpected arguments %v (see: gateway data help)\n", fs.Args())
		return 2
	case *out == "":
		fmt.Fprintln(stderr, "gateway data generate: --out DIR is required")
		return 2
	case *members < 2:
		fmt.Fprintln(stderr, "gateway data generate: --members must be at least 2 (the demo members alice and bob are part of every set)")
		return 2
	case *claims < 1:
		fmt.Fprintln(stderr, "gateway data generate: --claims must be at least 1")
		return 2
	}
	s, err := synth.Generate(*out, synth.Options{Members: *members, Seed: *seed, Claims: *claims})
	if err != nil {
		fmt.Fprintf(stderr, "gateway data generate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d members, %d bytes\n", *out, s.Members, s.Bytes)
	for _, typ := range []string{"Patient", "Coverage", "RelatedPerson", "ExplanationOfBenefit", "Organization", "Practitioner"} {
		fmt.Fprintf(stdout, "  %-22s %d\n", typ, s.Resources[typ])
	}
	return 0
}
