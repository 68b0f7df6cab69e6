package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/admin"
)

const appsUsage = `usage:
  gateway apps register --name N --redirect-uri U [--redirect-uri U2 ...] [--developer D]
                        [--description D] [--contact-email E] [--contact-phone P]
                        [--public] [--scope "S1 S2"] [--privacy-policy-url P] [--terms-url T]
                        [--attest QUESTION=yes|no ...] [--attested-by WHO]
                        [--attestation attested|declined|none] [--website-url W]
                        [--logo-file PNG] [--logo-uri U] [--webhook-url H]
                        [--jwks-file FILE | --jwks-uri URL] [--json]
  gateway apps approve|reinstate CLIENT_ID [--override WHY] [--note N]
  gateway apps deny|suspend CLIENT_ID --criterion ID [--criterion ID2 ...] --evidence E [--note N]
  gateway apps list [--status S] [--attestation A] [--query Q] [--failed] [--json]
  gateway apps show CLIENT_ID [--json]
  gateway apps checks CLIENT_ID [--json]
  gateway apps criteria [--json]
  gateway apps audit [--version V|all] [--json]

Every command also takes --server URL (default $GATEWAY_URL, else
http://127.0.0.1:8080) and --token T (default $GATEWAY_ADMIN_TOKEN).
`

const defaultServer = "http://127.0.0.1:8080"

// errUsage marks a mistake in the command line: exit status 2.
var errUsage = errors.New("usage")

// appsCmd is one `gateway apps` invocation's shared state.
type appsCmd struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	server, token  string
}

// runApps administers the app registry through the admin API. It exits 2
// on usage mistakes (a missing token included) and 1 when the server
// refuses or cannot be reached, printing the server's explanation.
func runApps(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, appsUsage)
		return 2
	}
	c := &appsCmd{getenv: getenv, stdout: stdout, stderr: stderr}
	var err error
	switch args[0] {
	case "register":
		err = c.register(ctx, args[1:])
	case "approve", "deny", "suspend", "reinstate":
		err = c.decide(ctx, args[0], args[1:])
	case "list":
		err = c.list(ctx, args[1:])
	case "show":
		err = c.show(ctx, args[1:])
	case "checks":
		err = c.checks(ctx, args[1:])
	case "criteria":
		err = c.criteria(ctx, args[1:])
	case "audit":
		err = c.audit(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, appsUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "gateway apps: unknown command %q\n\n%s", args[0], appsUsage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
		fmt.Fprintf(stderr, "gateway apps %s: %s (see: gateway apps help)\n", args[0], msg)
		return 2
	default:
		fmt.Fprintf(stderr, "gateway apps %s: %v\n", args[0], err)
		return 1
	}
}

// flags returns a flag set with the connection flags every command takes.
func (c *appsCmd) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("gateway apps "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() { fmt.Fprint(c.stderr, appsUsage) }
	fs.StringVar(&c.server, "server", "", "the gateway's base URL (default $GATEWAY_URL, else "+defaultServer+")")
	fs.StringVar(&c.token, "token", "", "the admin token (default $GATEWAY_ADMIN_TOKEN; the flag is visible to other local users)")
	return fs
}

// parse parses args, printing flag errors once; the error it returns only
// selects the exit status.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// client builds the admin API client from the flags and the environment.
func (c *appsCmd) client() (*admin.Client, error) {
	server := firstNonEmpty(c.server, c.getenv("GATEWAY_URL"), defaultServer)
	token := firstNonEmpty(c.token, c.getenv("GATEWAY_ADMIN_TOKEN"))
	if token == "" {
		return nil, fmt.Errorf("%w: no admin token: set GATEWAY_ADMIN_TOKEN (the token the server was started with) or pass --token", errUsage)
	}
	return &admin.Client{BaseURL: server, Token: token}, nil
}

func (c *appsCmd) register(ctx context.Context, args []string) error {
	var req admin.RegisterRequest
	var uris stringList
	var asJSON bool
	fs := c.flags("register")
	fs.StringVar(&req.Name, "name", "", "the app's name, shown to members")
	fs.Var(&uris, "redirect-uri", "a redirect URI (repeatable)")
	fs.StringVar(&req.Developer, "developer", "", "who makes the app")
	fs.BoolVar(&req.Public, "public", false, "a public client (no secret: native and browser apps)")
	fs.StringVar(&req.Scope, "scope", "", "space-separated SMART scopes the app may ask for (default: patient read access)")
	fs.StringVar(&req.PrivacyPolicyURL, "privacy-policy-url", "", "the app's privacy policy")
	fs.StringVar(&req.TermsURL, "terms-url", "", "the app's terms of use")
	var attestation, attestedBy string
	var answers stringList
	fs.StringVar(&attestation, "attestation", "", "attested (yes to every question), declined (no to every question) or none")
	fs.Var(&answers, "attest", "QUESTION=yes|no: the app's answer to one privacy question (repeatable; see: gateway apps criteria)")
	fs.StringVar(&attestedBy, "attested-by", "", "who attested for the app (default: the admin token)")
	fs.StringVar(&req.Description, "description", "", "what the app does, in a sentence or two")
	fs.StringVar(&req.ContactEmail, "contact-email", "", "where the plan writes to the developer about security")
	fs.StringVar(&req.ContactPhone, "contact-phone", "", "the developer's phone number")
	fs.StringVar(&req.LogoURI, "logo-uri", "", "the https address of the app's logo (recorded; members see --logo-file)")
	fs.StringVar(&req.WebsiteURL, "website-url", "", "the app's home page, shown on the consent page")
	fs.StringVar(&req.WebhookURL, "webhook-url", "", "where a signed notice goes when a member ends the app's access")
	var logoFile string
	fs.StringVar(&logoFile, "logo-file", "", "a PNG logo (16 to 512 pixels a side, at most 64 KiB) shown on the consent page")
	fs.BoolVar(&asJSON, "json", false, "print the server's JSON answer")
	var jwksFile string
	fs.StringVar(&jwksFile, "jwks-file", "", "a file holding the app's public JSON Web Key Set: it authenticates with private_key_jwt, no secret")
	fs.StringVar(&req.JWKSURI, "jwks-uri", "", "the https URL of the app's public JSON Web Key Set: private_key_jwt, no secret")
	if err := parse(fs, args); err != nil {
		return err
	}
	if jwksFile != "" {
		b, err := os.ReadFile(jwksFile)
		if err != nil {
			return fmt.Errorf("%w: --jwks-file: %v", errUsage, err)
		}
		if !json.Valid(b) {
			return fmt.Errorf("%w: --jwks-file %s does not hold JSON", errUsage, jwksFile)
		}
		req.JWKS = b
	}
	if logoFile != "" {
		b, err := os.ReadFile(logoFile)
		if err != nil {
			return fmt.Errorf("%w: --logo-file: %v", errUsage, err)
		}
		req.Logo = b
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	att, err := attestationOf(attestation, answers, attestedBy)
	if err != nil {
		return err
	}
	req.Attestation = att
	if req.Name == "" || len(uris) == 0 {
		return fmt.Errorf("%w: --name and at least one --redirect-uri are required", errUsage)
	}
	req.RedirectURIs = uris
	cl, err := c.client()
	if err != nil {
		return err
	}
	resp, err := cl.Register(ctx, req)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(c.stdout, resp)
	}
	fmt.Fprintf(c.stdout, "client_id:     %s\n", resp.ClientID)
	if resp.ClientSecret != "" {
		fmt.Fprintf(c.stdout, "client_secret: %s\n", resp.ClientSecret)
		fmt.Fprintln(c.stdout, "The client secret is shown only once: give it to the developer now. The gateway keeps only its hash.")
	}
	fmt.Fprintf(c.stdout, "status:        %s (approve it with: gateway apps approve %s)\n", resp.App.Status, resp.ClientID)
	return nil
}

// attestationOf builds the attestation from the command line: the older
// single word, or one answer per --attest, or nothing.
func attestationOf(word string, answers []string, by string) (*apps.Attestation, error) {
	if word != "" && len(answers) > 0 {
		return nil, fmt.Errorf("%w: give --attestation or --attest, not both", errUsage)
	}
	switch apps.AttestationStatus(word) {
	case "":
	case apps.AttestationAttested, apps.AttestationDeclined:
		a := apps.AttestAll(word == string(apps.AttestationAttested), by, time.Time{})
		return &a, nil
	case apps.AttestationNone:
		return nil, nil
	default:
		return nil, fmt.Errorf("%w: --attestation must be attested, declined or none", errUsage)
	}
	if len(answers) == 0 {
		return nil, nil
	}
	a := apps.Attestation{Answers: map[string]bool{}, By: by}
	for _, s := range answers {
		id, v, _ := strings.Cut(s, "=")
		switch strings.ToLower(v) {
		case "yes":
			a.Answers[id] = true
		case "no":
			a.Answers[id] = false
		default:
			return nil, fmt.Errorf("%w: --attest %q: give QUESTION=yes or QUESTION=no", errUsage, s)
		}
	}
	return &a, nil
}

// oneClientID parses a command's flags and its single CLIENT_ID, which may
// come before or after the flags.
func oneClientID(fs *flag.FlagSet, args []string) (string, error) {
	// Flags may come before or after CLIENT_ID, and a client id may
	// itself begin with "-" (it is base64url).
	flagArgs, positional := splitArgs(fs, args)
	if err := parse(fs, flagArgs); err != nil {
		return "", err
	}
	if len(positional) == 0 {
		return "", fmt.Errorf("%w: CLIENT_ID is required", errUsage)
	}
	if len(positional) > 1 {
		return "", fmt.Errorf("%w: unexpected argument %q", errUsage, positional[1])
	}
	return positional[0], nil
}

func (c *appsCmd) decide(ctx context.Context, action string, args []string) error {
	var req admin.DecideRequest
	var criteria stringList
	fs := c.flags(action)
	fs.Var(&criteria, "criterion", "the id of a criterion the decision cites (repeatable; required to deny or suspend; see: gateway apps criteria)")
	fs.StringVar(&req.Evidence, "evidence", "", "what was found (required to deny or suspend)")
	fs.StringVar(&req.Evidence, "reason", "", "the older name of --evidence")
	fs.StringVar(&req.Override, "override", "", "why an app failing an automated criterion is approved anyway")
	fs.StringVar(&req.Note, "note", "", "a remark for the app's history")
	id, err := oneClientID(fs, args)
	if err != nil {
		return err
	}
	for _, cr := range criteria {
		req.Criteria = append(req.Criteria, strings.Split(cr, ",")...)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	app, err := cl.Decide(ctx, id, action, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s (%s) is now %s\n", app.ClientID, app.Name, app.Status)
	return nil
}

func (c *appsCmd) list(ctx context.Context, args []string) error {
	var asJSON, failed bool
	var status, attestation, query string
	fs := c.flags("list")
	fs.BoolVar(&asJSON, "json", false, "print the apps as JSON")
	fs.StringVar(&status, "status", "", "only apps in this status: pending, approved, denied, suspended, deleted")
	fs.StringVar(&attestation, "attestation", "", "only apps whose attestation is none, attested or declined")
	fs.StringVar(&query, "query", "", "only apps whose name, developer, client id, contact email or a redirect URI holds this text")
	fs.BoolVar(&failed, "failed", false, "only apps whose latest checks failed a criterion")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"status": status, "attestation": attestation, "q": query} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if failed {
		q.Set("failed", "1")
	}
	list, err := cl.List(ctx, q)
	if err != nil {
		return err
	}
	if asJSON {
		if list == nil {
			list = []admin.AppView{}
		}
		return printJSON(c.stdout, map[string][]admin.AppView{"apps": list})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tNAME\tSTATUS\tAUTH\tATTESTATION")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ClientID, a.Name, a.Status, a.TokenEndpointAuthMethod, a.AttestationStatus)
	}
	return tw.Flush()
}

// show prints one app with its checks, history and usage.
func (c *appsCmd) show(ctx context.Context, args []string) error {
	var asJSON bool
	fs := c.flags("show")
	fs.BoolVar(&asJSON, "json", false, "print the app as JSON")
	id, err := oneClientID(fs, args)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	d, err := cl.Get(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(c.stdout, d)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("client_id", d.ClientID)
	row("name", d.Name)
	row("description", d.Description)
	row("developer", d.Developer)
	row("contact", strings.TrimSpace(d.ContactEmail+" "+d.ContactPhone))
	row("status", string(d.Status))
	row("status reason", d.StatusReason)
	row("client type", string(d.ClientType))
	row("redirect URIs", strings.Join(d.RedirectURIs, " "))
	row("scopes", strings.Join(d.Scopes, " "))
	row("privacy policy", d.PrivacyPolicyURL)
	row("terms", d.TermsURL)
	row("website", d.WebsiteURL)
	row("registered by", d.RegisteredBy.String())
	att := string(d.AttestationStatus)
	if d.Attestation.By != "" {
		att += " by " + d.Attestation.By + " on " + d.Attestation.At.UTC().Format(time.DateOnly)
	}
	if d.AttestationStale {
		att += " (stale: the policy changed since)"
	}
	row("attestation", att)
	for _, q := range apps.Questions() {
		row("  "+q.ID, cmpOr(d.Attestation.Answer(q.ID), "not answered"))
	}
	if d.PolicyChangedAt != nil {
		row("policy changed", d.PolicyChangedAt.UTC().Format(time.RFC3339))
	}
	row("members with live grants", fmt.Sprint(d.Usage.LiveMembers))
	last := "never"
	if !d.Usage.LastCall.IsZero() {
		last = d.Usage.LastCall.UTC().Format(time.RFC3339)
	}
	row("last API call", last)
	if err := tw.Flush(); err != nil {
		return err
	}
	if d.Checks != nil {
		fmt.Fprintf(c.stdout, "\nchecks (criteria %s, %s):\n", d.Checks.CriteriaVersion, d.Checks.RanAt.UTC().Format(time.RFC3339))
		printChecks(c.stdout, *d.Checks)
	}
	fmt.Fprintln(c.stdout, "\nhistory:")
	return printHistory(c.stdout, d.History)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func printChecks(w io.Writer, ch apps.Checks) {
	for _, r := range ch.Results {
		fmt.Fprintf(w, "  %-26s %s\n", r.Criterion, r.Outcome)
		for _, p := range r.Problems {
			fmt.Fprintf(w, "      - %s\n", p)
		}
	}
}

func printHistory(w io.Writer, list []apps.HistoryEntry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  WHEN\tCLIENT_ID\tACTION\tSTATUS\tBY\tCRITERIA\tEVIDENCE / OVERRIDE / NOTE")
	for _, e := range list {
		status := string(e.To)
		if e.From != "" && e.From != e.To {
			status = string(e.From) + "→" + string(e.To)
		}
		crit := strings.Join(e.Criteria, ",")
		if e.CriteriaVersion != "" {
			crit = e.CriteriaVersion + ": " + cmpOr(crit, "all passed")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.ClientID, e.Action, status,
			e.Actor.String(), crit, strings.Join(nonEmpty(e.Evidence, e.Override, e.Note), " / "))
	}
	return tw.Flush()
}

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// checks runs every criterion on an app now and prints the results.
func (c *appsCmd) checks(ctx context.Context, args []string) error {
	var asJSON bool
	fs := c.flags("checks")
	fs.BoolVar(&asJSON, "json", false, "print the results as JSON")
	id, err := oneClientID(fs, args)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	ch, err := cl.RunChecks(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(c.stdout, ch)
	}
	fmt.Fprintf(c.stdout, "criteria %s:\n", ch.CriteriaVersion)
	printChecks(c.stdout, ch)
	return nil
}

// criteria prints the catalog and the attestation questions.
func (c *appsCmd) criteria(ctx context.Context, args []string) error {
	var asJSON bool
	fs := c.flags("criteria")
	fs.BoolVar(&asJSON, "json", false, "print the catalog as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	v, err := cl.Criteria(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(c.stdout, v)
	}
	fmt.Fprintf(c.stdout, "criteria version %s\n", v.Version)
	for _, cr := range v.Criteria {
		kind := "manual"
		if cr.Automated {
			kind = "automated"
		}
		fmt.Fprintf(c.stdout, "  %-26s %-9s %s\n", cr.ID, kind, cr.Title)
	}
	fmt.Fprintln(c.stdout, "attestation questions:")
	for _, q := range v.Questions {
		fmt.Fprintf(c.stdout, "  %-16s %s\n", q.ID, q.Text)
	}
	return nil
}

// audit prints every decision made under a criteria version.
func (c *appsCmd) audit(ctx context.Context, args []string) error {
	var asJSON bool
	var version string
	fs := c.flags("audit")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&version, "version", "", "the criteria version (default: the current one; all: every version)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	rep, err := cl.Report(ctx, version)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(c.stdout, rep)
	}
	fmt.Fprintf(c.stdout, "decisions under criteria version %s: %d\n", rep.Version, len(rep.Decisions))
	return printHistory(c.stdout, rep.Decisions)
}

// splitArgs separates the flags fs defines (with their values) from the
// other arguments, wherever they appear; everything after "--" is an
// argument. Unknown dashed words are arguments, so a client id that begins
// with "-" needs no quoting.
func splitArgs(fs *flag.FlagSet, args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		isHelp := name == "h" || name == "help"
		if !strings.HasPrefix(a, "-") || (f == nil && !isHelp) {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		if f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, positional
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, " ") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
