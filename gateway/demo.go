package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/fhir"
	"github.com/patientaccess/gateway/oauth"
)

// DemoClientID is the fixed client id of the demo app seeded in demo mode.
const DemoClientID = "demo-app"

// DemoInfo is what demo mode seeded, for the start-up banner.
type DemoInfo struct {
	Members           []fhir.DemoMember
	Password          string
	PasswordGenerated bool
	App               apps.App
}

// seedDemo creates the demo members and the demo app. It is idempotent, so
// several replicas (or restarts) can seed the same Redis.
func seedDemo(ctx context.Context, st Store, cfg Config, now func() time.Time) (*DemoInfo, error) {
	info := &DemoInfo{Members: fhir.DemoMembers(), Password: cfg.DemoPassword}
	if info.Password == "" {
		p, err := randomString(9)
		if err != nil {
			return nil, err
		}
		info.Password, info.PasswordGenerated = p, true
	}
	hash, err := oauth.HashPassword(info.Password)
	if err != nil {
		return nil, err
	}
	for _, m := range info.Members {
		err := st.PutMember(ctx, oauth.Member{Username: m.Username, DisplayName: m.DisplayName, PasswordHash: hash, PatientID: m.PatientID})
		if err != nil {
			return nil, fmt.Errorf("seed demo member: %w", err)
		}
	}
	app, err := seedDemoApp(ctx, st, cfg, now())
	if err != nil {
		return nil, err
	}
	info.App = app
	return info, nil
}

func seedDemoApp(ctx context.Context, st Store, cfg Config, now time.Time) (apps.App, error) {
	app := apps.App{
		ClientID: DemoClientID, Name: "Demo Health Tracker", Developer: "Patient Access Gateway demo",
		RedirectURIs:     []string{cfg.BaseURL + "/demo/callback", "http://127.0.0.1:9000/callback"},
		Public:           true,
		Scopes:           apps.DefaultScopes,
		PrivacyPolicyURL: cfg.BaseURL + "/demo/privacy", TermsURL: cfg.BaseURL + "/demo/terms",
		WebsiteURL: cfg.BaseURL + "/demo/", HasLogo: true,
		Attestation: apps.AttestAll(true, "Patient Access Gateway demo team", now), Status: apps.StatusApproved,
		StatusReason: "seeded in demo mode", CreatedAt: now, UpdatedAt: now,
	}
	if err := st.PutAppLogo(ctx, DemoClientID, demoAppLogo()); err != nil {
		return apps.App{}, fmt.Errorf("seed demo app logo: %w", err)
	}
	err := st.CreateApp(ctx, app)
	if errors.Is(err, apps.ErrAlreadyExists) {
		return st.GetApp(ctx, DemoClientID)
	}
	if err != nil {
		return apps.App{}, fmt.Errorf("seed demo app: %w", err)
	}
	return app, nil
}

// demoAppLogo draws the demo app's logo: a white heart on teal, 64 pixels
// square, as a PNG.
func demoAppLogo() []byte {
	const size = 64
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	teal, white := color.NRGBA{0x0e, 0x6e, 0x6a, 0xff}, color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := range size {
		for x := range size {
			// A heart: (x²+y²-1)³ - x²y³ ≤ 0, scaled to the square.
			fx, fy := (float64(x)-31.5)/20, (31.5-float64(y))/20+0.25
			q := fx*fx + fy*fy - 1
			c := teal
			if q*q*q-fx*fx*fy*fy*fy <= 0 {
				c = white
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img) // encoding to memory cannot fail
	return b.Bytes()
}
