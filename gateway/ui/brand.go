package ui

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Branding is how the plan presents itself on every member page.
type Branding struct {
	// PlanName is the plan's name, e.g. "Riverbend Community Health Plan".
	PlanName string
	// Logo is the plan's logo (PNG or SVG), served from the gateway's own
	// origin at /ui/logo; nil shows the name alone. LogoType is its
	// media type (image/png or image/svg+xml).
	Logo     []byte
	LogoType string
	// Color is the main colour (#rrggbb): the header, buttons and links.
	// White text must be readable on it and it must be readable on white
	// (contrast at least 4.5:1, WCAG 2.1 AA).
	Color string
	// AccentColor (#rrggbb) underlines the header; any colour.
	AccentColor string
	// PrivacyOfficer is how to reach the plan's privacy officer (name,
	// address, phone, email), shown in every page's footer.
	PrivacyOfficer string
	// NoticeURL links the plan's Notice of Privacy Practices.
	NoticeURL string
	// MemberServices is how to reach member services (a phone number and
	// hours); every error page offers it as the next step.
	MemberServices string
	// MemberServicesURL, if set, links the member services web page.
	MemberServicesURL string
}

// Default branding values.
const (
	DefaultPlanName       = "your health plan"
	DefaultColor          = "#17365d"
	DefaultAccentColor    = "#2e7d6f"
	DefaultMemberServices = "the Member Services number on your member ID card"
)

// HasLogo reports whether the plan has a logo.
func (b *Branding) HasLogo() bool { return len(b.Logo) > 0 }

func (b *Branding) setDefaults() {
	if b.PlanName == "" {
		b.PlanName = DefaultPlanName
	}
	if b.Color == "" {
		b.Color = DefaultColor
	}
	if b.AccentColor == "" {
		b.AccentColor = DefaultAccentColor
	}
	if b.MemberServices == "" {
		b.MemberServices = DefaultMemberServices
	}
}

// Validate reports every problem with the branding at once.
func (b Branding) Validate() error {
	var errs []error
	b.setDefaults()
	if c, err := parseColor(b.Color); err != nil {
		errs = append(errs, fmt.Errorf("plan colour: %w", err))
	} else if r := contrast(c, white); r < 4.5 {
		errs = append(errs, fmt.Errorf("plan colour %s has a contrast of %.1f:1 with white; WCAG 2.1 AA needs 4.5:1 for its text and buttons: choose a darker colour", b.Color, r))
	}
	if _, err := parseColor(b.AccentColor); err != nil {
		errs = append(errs, fmt.Errorf("plan accent colour: %w", err))
	}
	if len(b.Logo) > 0 && b.LogoType != "image/png" && b.LogoType != "image/svg+xml" {
		errs = append(errs, fmt.Errorf("plan logo: want a PNG or SVG file, got %q", b.LogoType))
	}
	for name, v := range map[string]string{"notice of privacy practices URL": b.NoticeURL, "member services URL": b.MemberServicesURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http" && !strings.HasPrefix(v, "/")) {
			errs = append(errs, fmt.Errorf("%s %q: want an absolute http(s) URL or a path on this server", name, v))
		}
	}
	return errors.Join(errs...)
}

// LoadLogo reads a PNG or SVG logo file and sniffs its type.
func LoadLogo(path string) ([]byte, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("plan logo: %w", err)
	}
	if len(data) > maxLogo {
		return nil, "", fmt.Errorf("plan logo %s: larger than %d KiB", path, maxLogo>>10)
	}
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return data, "image/png", nil
	case bytes.Contains(data[:min(len(data), 1024)], []byte("<svg")):
		return data, "image/svg+xml", nil
	}
	return nil, "", fmt.Errorf("plan logo %s: not a PNG or SVG file", path)
}

// maxLogo bounds the logo file.
const maxLogo = 512 << 10

// brandCSS is the stylesheet that carries the configured colours: the
// pages' CSP allows no inline style, so they reach the page as a file.
func (b *Branding) brandCSS() []byte {
	return fmt.Appendf(nil, ":root{--brand:%s;--accent:%s}\n", b.Color, b.AccentColor)
}

type rgb [3]float64

var white = rgb{1, 1, 1}

// parseColor reads #rrggbb.
func parseColor(s string) (rgb, error) {
	if len(s) != 7 || s[0] != '#' {
		return rgb{}, fmt.Errorf("%q: want #rrggbb", s)
	}
	var c rgb
	for i := range 3 {
		v, err := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return rgb{}, fmt.Errorf("%q: want #rrggbb", s)
		}
		c[i] = float64(v) / 255
	}
	return c, nil
}

// luminance is the relative luminance of WCAG 2.1.
func (c rgb) luminance() float64 {
	var l [3]float64
	for i, v := range c {
		if v <= 0.03928 {
			l[i] = v / 12.92
		} else {
			l[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// contrast is the WCAG 2.1 contrast ratio of two colours.
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}
