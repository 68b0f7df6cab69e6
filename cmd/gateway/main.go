// Command gateway is the Patient Access Gateway's one binary: `serve` runs
// the server; `apps …` administers the app registry through the admin API;
// `data check` checks FHIR data files without starting anything.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
