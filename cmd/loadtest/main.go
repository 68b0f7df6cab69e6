// Command loadtest drives a gateway it starts in this process, on loopback
// only, with the vegeta load generator, and prints each figure as a ratio
// to baselines measured in the same run: a plain handler serving the same
// bytes, and a bare httputil.ReverseProxy in front of that handler.
//
// It mints real tokens through the real flow (an app registered and
// approved through the admin API, a member signing in and consenting on the
// gateway's pages, the code exchanged with PKCE), then runs, for a bounded
// time each: a FHIR read by id, an ExplanationOfBenefit search by patient
// (a page of 20) and refresh grants, on the embedded store and on Redis.
//
//	go run ./cmd/loadtest -duration 5s -clients 32
//
// Redis is GATEWAY_TEST_REDIS_URL (default redis://127.0.0.1:6379/15),
// under a key prefix of its own that is deleted afterwards; -stores memory
// skips it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// options bound a run.
type options struct {
	Duration time.Duration // of each attack
	Clients  int           // concurrent clients (vegeta workers)
	Stores   []string      // "memory", "redis"
	RedisURL string
	Out      io.Writer
}

func main() {
	o := options{Out: os.Stdout}
	stores := flag.String("stores", "memory,redis", "stores to run against: memory, redis or both")
	flag.DurationVar(&o.Duration, "duration", 5*time.Second, "how long each attack runs (at most 1m)")
	flag.IntVar(&o.Clients, "clients", 32, "concurrent clients (1 to 256)")
	flag.Parse()
	o.Stores = strings.Split(*stores, ",")
	o.RedisURL = os.Getenv("GATEWAY_TEST_REDIS_URL")
	if o.RedisURL == "" {
		o.RedisURL = "redis://127.0.0.1:6379/15"
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// run checks the bounds, then runs every scenario on every store.
func run(ctx context.Context, o options) error {
	if o.Duration <= 0 || o.Duration > time.Minute {
		return errors.New("-duration must be between 0 and 1m")
	}
	if o.Clients < 1 || o.Clients > 256 {
		return errors.New("-clients must be between 1 and 256")
	}
	fmt.Fprintf(o.Out, "%d clients, %s per attack, loopback only; ratios are to the baseline named on the line above.\n\n", o.Clients, o.Duration)
	for _, store := range o.Stores {
		env, err := start(ctx, store, o.RedisURL, slog.New(slog.DiscardHandler))
		if err != nil {
			return fmt.Errorf("%s: %w", store, err)
		}
		err = scenarios(ctx, env, o)
		env.close()
		if err != nil {
			return fmt.Errorf("%s: %w", store, err)
		}
	}
	fmt.Fprintf(o.Out, "\npeak RSS of this process (gateway, baselines and load generator): %.1f MB\n", peakRSSMB())
	return nil
}
