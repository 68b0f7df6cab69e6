package gateway

import (
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/gateway/ui"
	"github.com/patientaccess/gateway/oauth"
)

// PlanConfig is what the plan decides for its members' pages: its
// branding, the language files it adds, its guide for choosing an app,
// how long grants last and which records count as sensitive. All of it
// comes from the environment.
type PlanConfig struct {
	// Name is the plan's name on every page and the sign-in button
	// (GATEWAY_PLAN_NAME). Default "your health plan"; the demo's
	// fictional plan in demo mode.
	Name string
	// LogoFile is a PNG or SVG logo (GATEWAY_PLAN_LOGO_FILE).
	LogoFile string
	// Color and AccentColor are #rrggbb (GATEWAY_PLAN_COLOR,
	// GATEWAY_PLAN_ACCENT_COLOR); Color must reach 4.5:1 against white.
	Color, AccentColor string
	// PrivacyOfficer is how to reach the plan's privacy officer
	// (GATEWAY_PLAN_PRIVACY_OFFICER).
	PrivacyOfficer string
	// NoticeURL links the plan's Notice of Privacy Practices
	// (GATEWAY_PLAN_NOTICE_URL).
	NoticeURL string
	// MemberServices is how to reach member services, offered on every
	// error page (GATEWAY_PLAN_HELP_CONTACT); required with plan sign-in.
	MemberServices string
	// MemberServicesURL links the member services web page
	// (GATEWAY_PLAN_MEMBER_SERVICES_URL).
	MemberServicesURL string
	// GuideURL replaces the built-in guide for choosing an app with the
	// plan's own page (GATEWAY_APP_GUIDE_URL); /guide then redirects there.
	GuideURL string
	// LocalesDir holds message catalogs the plan adds or replaces
	// (GATEWAY_LOCALES_DIR): fr.json adds French.
	LocalesDir string
	// TimeZone shows times to members (GATEWAY_PLAN_TIMEZONE, an IANA
	// name). Default UTC.
	TimeZone string
	// GrantMonths is how long a time-limited grant lasts
	// (GATEWAY_GRANT_MONTHS, 1–120). Default 13.
	GrantMonths int
	// SensitiveLabels are the meta.security labels of records withheld
	// unless the member opts in (GATEWAY_SENSITIVE_LABELS, comma-separated
	// system|code, or "none"). nil means access.DefaultSensitiveLabels;
	// empty (not nil) means none.
	SensitiveLabels access.Labels
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For is believed for the client IP in members' access
	// histories (GATEWAY_TRUSTED_PROXIES, comma-separated CIDRs).
	TrustedProxies []netip.Prefix
}

// parse reads the plan settings from the environment and returns what did
// not parse.
func (p *PlanConfig) parse(getenv func(string) string) []error {
	var errs []error
	p.Name = getenv("GATEWAY_PLAN_NAME")
	p.LogoFile = getenv("GATEWAY_PLAN_LOGO_FILE")
	p.Color = getenv("GATEWAY_PLAN_COLOR")
	p.AccentColor = getenv("GATEWAY_PLAN_ACCENT_COLOR")
	p.PrivacyOfficer = getenv("GATEWAY_PLAN_PRIVACY_OFFICER")
	p.NoticeURL = getenv("GATEWAY_PLAN_NOTICE_URL")
	p.MemberServices = getenv("GATEWAY_PLAN_HELP_CONTACT")
	p.MemberServicesURL = getenv("GATEWAY_PLAN_MEMBER_SERVICES_URL")
	p.GuideURL = getenv("GATEWAY_APP_GUIDE_URL")
	p.LocalesDir = getenv("GATEWAY_LOCALES_DIR")
	p.TimeZone = getenv("GATEWAY_PLAN_TIMEZONE")
	if v := getenv("GATEWAY_GRANT_MONTHS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 120 {
			errs = append(errs, fmt.Errorf("GATEWAY_GRANT_MONTHS: %q is not a number of months from 1 to 120", v))
		}
		p.GrantMonths = n
	}
	switch v := getenv("GATEWAY_SENSITIVE_LABELS"); v {
	case "":
	case "none":
		p.SensitiveLabels = access.Labels{}
	default:
		labels, err := access.ParseLabels(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("GATEWAY_SENSITIVE_LABELS: %w", err))
		}
		p.SensitiveLabels = labels
	}
	for part := range strings.SplitSeq(getenv("GATEWAY_TRUSTED_PROXIES"), ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(part)
		if err != nil {
			errs = append(errs, fmt.Errorf("GATEWAY_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", part))
		}
		p.TrustedProxies = append(p.TrustedProxies, pfx.Masked())
	}
	return errs
}

// validate reports what cannot work, without reading any file.
func (p PlanConfig) validate() []error {
	var errs []error
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil {
			errs = append(errs, fmt.Errorf("GATEWAY_PLAN_TIMEZONE %q: not a time zone name such as America/New_York", p.TimeZone))
		}
	}
	if p.GrantMonths < 0 || p.GrantMonths > 120 {
		errs = append(errs, errors.New("GATEWAY_GRANT_MONTHS must be from 1 to 120"))
	}
	if err := p.branding(nil, "").Validate(); err != nil {
		errs = append(errs, fmt.Errorf("plan branding: %w", err))
	}
	return errs
}

// branding is the ui's branding, without the logo's bytes (logo, logoType
// give them).
func (p PlanConfig) branding(logo []byte, logoType string) ui.Branding {
	return ui.Branding{PlanName: p.Name, Logo: logo, LogoType: logoType, Color: p.Color, AccentColor: p.AccentColor,
		PrivacyOfficer: p.PrivacyOfficer, NoticeURL: p.NoticeURL, MemberServices: p.MemberServices, MemberServicesURL: p.MemberServicesURL}
}

//go:embed demoassets/riverbend-logo.svg
var demoLogo []byte

// The demo's fictional plan. Nothing here names a real organization.
const (
	demoPlanName       = "Riverbend Community Health Plan"
	demoPrivacyOfficer = "Riverbend Community Health Plan, 100 Example Way, Springfield, ST 00000 · privacy@riverbend.example · 1-800-555-0143"
	demoMemberServices = "1-800-555-0142 (TTY 711)"
)

// newUI builds the member pages. In demo mode the fictional plan fills in
// whatever the plan left unset.
func (g *Gateway) newUI(types []*catalog.Type) (*ui.UI, error) {
	p := g.Config.Plan
	var logo []byte
	var logoType string
	if p.LogoFile != "" {
		var err error
		if logo, logoType, err = ui.LoadLogo(p.LogoFile); err != nil {
			return nil, err
		}
	}
	demoNotice := false
	if g.Config.Demo {
		def := func(v *string, d string) {
			if *v == "" {
				*v = d
			}
		}
		def(&p.Name, demoPlanName)
		def(&p.PrivacyOfficer, demoPrivacyOfficer)
		def(&p.MemberServices, demoMemberServices)
		def(&p.Color, "#1f4e79")
		def(&p.AccentColor, "#3a9d8f")
		if p.NoticeURL == "" {
			p.NoticeURL, demoNotice = ui.PathNotice, true
		}
		if logo == nil {
			logo, logoType = demoLogo, "image/svg+xml"
		}
	}
	loc := time.UTC
	if p.TimeZone != "" {
		loc, _ = time.LoadLocation(p.TimeZone) // validated
	}
	labels := map[string]string{}
	for _, t := range types {
		labels[t.Name] = t.Label
	}
	u, err := ui.New(ui.Config{Brand: p.branding(logo, logoType), LocalesDir: p.LocalesDir, GuideURL: p.GuideURL,
		Location: loc, DemoNotice: demoNotice, Secure: isHTTPS(g.Config.BaseURL), TypeLabels: labels})
	if err != nil {
		return nil, fmt.Errorf("member pages: %w", err)
	}
	return u, checkCategories(types)
}

// checkCategories makes sure the pages have words for every category a
// served type belongs to.
func checkCategories(types []*catalog.Type) error {
	for _, t := range types {
		if !slices.Contains(ui.Categories, string(t.Category)) {
			return fmt.Errorf("member pages: %s belongs to category %q, which the pages have no words for", t.Name, t.Category)
		}
	}
	return nil
}

// categories is the consent page's order of the catalog's categories.
func categories() []string {
	var out []string
	for _, c := range catalog.Categories() {
		out = append(out, string(c))
	}
	return out
}

// sensitive is the label set in force.
func (p PlanConfig) sensitive() access.Labels {
	if p.SensitiveLabels == nil {
		return access.DefaultSensitiveLabels()
	}
	return p.SensitiveLabels
}

// oauthConfig applies the part of the plan's settings the authorization
// server applies.
func (p PlanConfig) oauthConfig(c *oauth.Config) {
	c.GrantMonths = p.GrantMonths
	c.OfferSensitive = len(p.sensitive()) > 0
}
