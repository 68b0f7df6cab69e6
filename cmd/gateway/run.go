package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/patientaccess/gateway/gateway"
	"github.com/patientaccess/gateway/gateway/console"
	"github.com/patientaccess/gateway/gateway/web"
	"github.com/patientaccess/gateway/oauth"
)

const usage = `Patient Access Gateway

usage:
  gateway serve [--addr HOST:PORT] [--base-url URL] [--demo] [--data DIR]
  gateway apps register --name N --redirect-uri U [--public] [--privacy-policy-url P] [--json]
  gateway apps approve|reinstate CLIENT_ID [--override WHY]
  gateway apps deny|suspend CLIENT_ID --criterion ID --evidence E
  gateway apps list|show|checks|criteria|audit ...   (gateway apps help)
  gateway data check [--demo] DIR

Configuration comes from the environment (see README): GATEWAY_ADDR,
GATEWAY_BASE_URL, GATEWAY_REDIS_URL, GATEWAY_DEMO, GATEWAY_DEMO_PASSWORD,
GATEWAY_ADMIN_TOKEN, GATEWAY_TOKEN_SECRET, GATEWAY_SIGNING_KEY_FILE,
GATEWAY_DATA_DIR, GATEWAY_REQUEST_TIMEOUT, GATEWAY_SHUTDOWN_TIMEOUT,
GATEWAY_AUDIT_RETENTION, GATEWAY_DYNAMIC_REGISTRATION, GATEWAY_AUTO_APPROVE,
GATEWAY_POLICY_WATCH_INTERVAL, GATEWAY_LOG_LEVEL, GATEWAY_URL (for the apps commands),
OTEL_EXPORTER_OTLP_ENDPOINT.
`

// run is the whole program; main only delegates to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "apps":
		return runApps(ctx, args[1:], getenv, stdout, stderr)
	case "data":
		return runData(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	logger := slog.New(web.NewRedactingHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: logLevel(getenv)})))
	cfg, err := gateway.ParseConfig(args, getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "gateway: configuration: %v\n", err)
		return 2
	}
	shutdown, err := gateway.SetupTelemetry(ctx, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "gateway: telemetry: %v\n", err)
		return 1
	}
	defer func() { _ = shutdown(context.Background()) }()
	g, err := gateway.New(ctx, cfg, gateway.Options{Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "gateway: %v\n", err)
		return 1
	}
	defer func() { _ = g.Close() }()
	printBanner(stdout, g)
	if err := g.Serve(ctx, logger); err != nil {
		fmt.Fprintf(stderr, "gateway: %v\n", err)
		return 1
	}
	return 0
}

func logLevel(getenv func(string) string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(getenv("GATEWAY_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// printBanner tells a newcomer where everything is. It prints generated
// secrets (demo mode only) because there is no other way to learn them.
func printBanner(w io.Writer, g *gateway.Gateway) {
	c := g.Config
	store := "in-memory (nothing survives a restart)"
	if c.RedisURL != "" {
		store = "Redis"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Patient Access Gateway listening on %s (store: %s)\n\n", c.Addr, store)
	fmt.Fprintf(&b, "  FHIR base            %s/fhir\n", c.BaseURL)
	fmt.Fprintf(&b, "  CapabilityStatement  %s/fhir/metadata\n", c.BaseURL)
	fmt.Fprintf(&b, "  SMART configuration  %s/fhir/.well-known/smart-configuration\n", c.BaseURL)
	fmt.Fprintf(&b, "  Member sign-in       %s/login\n", c.BaseURL)
	if o := c.OIDC; o.Issuer != "" {
		local := "on"
		if o.DisableLocalLogin {
			local = "off"
		}
		fmt.Fprintf(&b, "  Plan sign-in         %s  (redirect URI to register: %s%s; local login %s)\n",
			o.Issuer, c.BaseURL, oauth.PathPlanCallback, local)
	}
	fmt.Fprintf(&b, "  Connected apps       %s/account/apps\n", c.BaseURL)
	if d := g.Data; d != nil && c.DataDir != "" {
		fmt.Fprintf(&b, "  FHIR data            %d resources (%d members) from %s", d.Resources, d.Patients, c.DataDir)
		if c.Demo {
			b.WriteString(" and the demo")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "  Developer portal     %s/developers/\n", c.BaseURL)
	fmt.Fprintf(&b, "  Admin console        %s/console/", c.BaseURL)
	if o := c.OIDC; o.Issuer != "" && o.AdminRoleClaim != "" {
		fmt.Fprintf(&b, "  (plan sign-in, roles from claim %s; redirect URI to register: %s%s)", o.AdminRoleClaim, c.BaseURL, console.PathCallback)
	}
	b.WriteString("\n")
	switch {
	case c.AdminToken == "":
		fmt.Fprintf(&b, "  Admin API            off (set GATEWAY_ADMIN_TOKEN to turn it on)\n")
	case g.AdminTokenGenerated:
		fmt.Fprintf(&b, "  Admin API            %s/admin/  token (generated): %s\n", c.BaseURL, c.AdminToken)
	default:
		fmt.Fprintf(&b, "  Admin API            %s/admin/  token: from GATEWAY_ADMIN_TOKEN\n", c.BaseURL)
	}
	if d := g.Demo; d != nil {
		fmt.Fprintf(&b, "\nDemo mode:\n")
		pw := "from GATEWAY_DEMO_PASSWORD"
		if d.PasswordGenerated {
			pw = d.Password + " (generated; set GATEWAY_DEMO_PASSWORD to choose one)"
		}
		for _, m := range d.Members {
			fmt.Fprintf(&b, "  member %-6s password %s  (Patient/%s)\n", m.Username, pw, m.PatientID)
		}
		fmt.Fprintf(&b, "  console   %s (admin) and %s (reviewer), password as the members'\n", gateway.DemoConsoleAdmin, gateway.DemoConsoleReviewer)
		fmt.Fprintf(&b, "  demo app  client_id %s (public, PKCE)  redirect %s\n", d.App.ClientID, strings.Join(d.App.RedirectURIs, " "))
		fmt.Fprintf(&b, "  try it    %s/demo/\n", c.BaseURL)
	}
	fmt.Fprintln(&b)
	_, _ = io.WriteString(w, b.String())
}
