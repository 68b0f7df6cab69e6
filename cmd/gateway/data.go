package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/patientaccess/gateway/fhir"
)

const dataUsage = `usage:
  gateway data check [--demo] DIR

Reads every .json (a FHIR Bundle of any type, or one resource), .ndjson and
.ndjson.gz file under DIR exactly as "gateway serve --data DIR" would,
without starting anything. With --demo, DIR is read together with the demo
data, as "serve --demo --data DIR" reads them. Prints the resources per
type and the members found and exits 0, or prints every problem by file
and line and exits 1. Exit status 2 is a mistake in the command line.
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
