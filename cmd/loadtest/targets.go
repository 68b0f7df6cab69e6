package main

import (
	"fmt"
	"time"
)

// The targets for a token-bearing FHIR read (issue 7, "Targets").
const (
	targetVsProxy      = 0.9                  // × the bare proxy's req/s, at 32 clients
	targetP99Factor    = 2.0                  // × the bare proxy's p99, at 32 clients
	targetP99Margin    = time.Millisecond     // + the bare proxy's p99, at one client
	targetVsPlain      = 0.25                 // × the plain handler's req/s, embedded store
	targetClients      = 32                   // the client count the issue states its throughput targets at
	targetReadScenario = scenarioRead         // the read the targets are about
	targetUpstreamRead = scenarioUpstreamRead // the same read in upstream mode (README's BenchmarkUpstreamRead target)
)

// verdict is one target checked against one table.
type verdict struct {
	what     string
	measured string
	met      bool
}

// targets checks the targets that apply to t: at one client the
// p99 margin, with more clients the throughput and p99 ratios, and on the
// embedded store the ratio to the plain handler.
func targets(t table) []verdict {
	var vs []verdict
	at := ""
	if t.clients != targetClients {
		at = fmt.Sprintf(" (the issue states it at %d clients)", targetClients)
	}
	check := func(scenario, label string) {
		c, ok := t.rows[scenario]
		if !ok || c.proxy.rate == 0 {
			return
		}
		g, x := c.gw, c.proxy
		if t.clients == 1 {
			limit := x.p99 + targetP99Margin
			vs = append(vs, verdict{what: fmt.Sprintf("%s p99 ≤ bare proxy p99 + 1 ms", label),
				measured: fmt.Sprintf("%s vs %s", ms(g.p99), ms(limit)), met: g.p99 <= limit})
		} else {
			r := g.rate / x.rate
			vs = append(vs, verdict{what: fmt.Sprintf("%s ≥ %.1f× bare proxy req/s%s", label, targetVsProxy, at),
				measured: fmt.Sprintf("%.2f× (%.0f vs %.0f req/s)", r, g.rate, x.rate), met: r >= targetVsProxy})
			p := float64(g.p99) / float64(x.p99)
			vs = append(vs, verdict{what: fmt.Sprintf("%s p99 ≤ %.0f× bare proxy p99%s", label, targetP99Factor, at),
				measured: fmt.Sprintf("%.2f× (%s vs %s)", p, ms(g.p99), ms(x.p99)), met: p <= targetP99Factor})
		}
		if scenario == targetReadScenario && t.store == "memory" && c.plain.rate > 0 {
			r := g.rate / c.plain.rate
			vs = append(vs, verdict{what: fmt.Sprintf("%s ≥ %.2f× plain handler req/s", label, targetVsPlain),
				measured: fmt.Sprintf("%.2f× (%.0f vs %.0f req/s)", r, g.rate, c.plain.rate), met: r >= targetVsPlain})
		}
		if g.errors > 0 {
			vs = append(vs, verdict{what: label + " without errors", measured: fmt.Sprintf("%d errors", g.errors)})
		}
	}
	check(targetReadScenario, "FHIR read")
	check(targetUpstreamRead, "FHIR read in upstream mode")
	for _, p := range t.peaks {
		vs = append(vs, verdict{what: fmt.Sprintf("peak RSS so far ≤ %d MB (%s)", rssTargetMB, p.name),
			measured: fmt.Sprintf("%.1f MB", p.mb), met: p.mb <= rssTargetMB})
	}
	return vs
}

// printTargets prints the targets that apply to t, met or not, with the
// measured figure.
func printTargets(o options, t table) {
	vs := targets(t)
	if len(vs) == 0 {
		return
	}
	fmt.Fprintf(o.Out, "\nTargets, %s store, %s:\n\n", t.store, countOf(t.clients, "client"))
	for _, v := range vs {
		fmt.Fprintf(o.Out, "- %s: %s — %s\n", v.what, v.measured, metOrNot(v.met))
	}
}

// printRSS prints the gateways' peak RSS against the target.
func printRSS(o options, peaks []rss) {
	fmt.Fprintf(o.Out, "\nPeak RSS (VmHWM) of each gateway process, target ≤ %d MB:\n\n", rssTargetMB)
	for _, p := range peaks {
		fmt.Fprintf(o.Out, "- %s: %.1f MB — %s\n", p.name, p.mb, metOrNot(p.mb <= rssTargetMB))
	}
}

// rss is one gateway process's peak resident set.
type rss struct {
	name string
	mb   float64
}

func metOrNot(met bool) string {
	if met {
		return "met"
	}
	return "NOT MET"
}
