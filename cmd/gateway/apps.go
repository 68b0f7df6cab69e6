package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/patientaccess/gateway/gateway/admin"
)

const appsUsage = `usage:
  gateway apps register --name N --redirect-uri U [--redirect-uri U2 ...] [--developer D]
                        [--public] [--scope "S1 S2"] [--privacy-policy-url P] [--terms-url T]
                        [--attestation attested|declined|none] [--website-url W]
                        [--logo-file PNG] [--webhook-url H]
                        [--jwks-file FILE | --jwks-uri URL] [--json]
  gateway apps approve|deny|suspend CLIENT_ID [--reason R]
  gateway apps list [--json]

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
	case "approve", "deny", "suspend":
		err = c.decide(ctx, args[0], args[1:])
	case "list":
		err = c.list(ctx, args[1:])
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
	fs.StringVar(&req.Attestation, "attestation", "", "attested, declined or none")
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

func (c *appsCmd) decide(ctx context.Context, action string, args []string) error {
	var reason string
	fs := c.flags(action)
	fs.StringVar(&reason, "reason", "", "why (required to deny or suspend; shown in the audit log)")
	// Flags may come before or after CLIENT_ID, and a client id may
	// itself begin with "-" (it is base64url).
	flagArgs, positional := splitArgs(fs, args)
	if err := parse(fs, flagArgs); err != nil {
		return err
	}
	if len(positional) == 0 {
		return fmt.Errorf("%w: CLIENT_ID is required", errUsage)
	}
	if len(positional) > 1 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, positional[1])
	}
	id := positional[0]
	cl, err := c.client()
	if err != nil {
		return err
	}
	app, err := cl.Decide(ctx, id, action, reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s (%s) is now %s\n", app.ClientID, app.Name, app.Status)
	return nil
}

func (c *appsCmd) list(ctx context.Context, args []string) error {
	var asJSON bool
	fs := c.flags("list")
	fs.BoolVar(&asJSON, "json", false, "print the apps as JSON")
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
	list, err := cl.List(ctx)
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
	fmt.Fprintln(tw, "CLIENT_ID\tNAME\tSTATUS\tAUTH")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ClientID, a.Name, a.Status, a.TokenEndpointAuthMethod)
	}
	return tw.Flush()
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
