package apps

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"
)

func TestRegisterInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Registration)
		want   []string // substrings of the error, one per problem
	}{
		{"no name", func(r *Registration) { r.Name = "  " }, []string{"name is required"}},
		{"long name", func(r *Registration) { r.Name = strings.Repeat("é", maxName+1) }, []string{"name is longer than 200"}},
		{"control in developer", func(r *Registration) { r.Developer = "Ac\nme" }, []string{"developer contains control"}},
		{"no redirect", func(r *Registration) { r.RedirectURIs = nil }, []string{"at least one redirect URI"}},
		{"relative", func(r *Registration) { r.RedirectURIs = []string{"/cb"} }, []string{"must be an absolute URL"}},
		{"fragment", func(r *Registration) { r.RedirectURIs = []string{"https://a.example/cb#x"} }, []string{"fragment"}},
		{"empty fragment", func(r *Registration) { r.RedirectURIs = []string{"https://a.example/cb#"} }, []string{"fragment"}},
		{"http remote", func(r *Registration) { r.RedirectURIs = []string{"http://a.example/cb"} }, []string{"must use https"}},
		{"http loopback lookalike", func(r *Registration) { r.RedirectURIs = []string{"http://127.0.0.1.evil.example/cb"} }, []string{"must use https"}},
		{"https no host", func(r *Registration) { r.RedirectURIs = []string{"https:///cb"} }, []string{"must have a host"}},
		{"javascript", func(r *Registration) { r.RedirectURIs = []string{"javascript:alert(1)"} }, []string{"forbidden scheme"}},
		{"data", func(r *Registration) { r.RedirectURIs = []string{"data:text/html,hi"} }, []string{"forbidden scheme"}},
		{"file", func(r *Registration) { r.RedirectURIs = []string{"file:///etc/passwd"} }, []string{"forbidden scheme"}},
		{"upper-case javascript", func(r *Registration) { r.RedirectURIs = []string{"JavaScript:alert(1)"} }, []string{"forbidden scheme"}},
		{"scheme without dot", func(r *Registration) { r.RedirectURIs = []string{"myapp:/cb"} }, []string{"reverse-domain"}},
		{"credentials", func(r *Registration) { r.RedirectURIs = []string{"https://u:p@a.example/cb"} }, []string{"credentials"}},
		{"space", func(r *Registration) { r.RedirectURIs = []string{"https://a.example/c b"} }, []string{"spaces"}},
		{"wildcard host", func(r *Registration) { r.RedirectURIs = []string{"https://*.example.com/cb"} }, []string{"wildcard"}},
		{"wildcard path", func(r *Registration) { r.RedirectURIs = []string{"https://a.example/*"} }, []string{"wildcard"}},
		{"wildcard query", func(r *Registration) { r.RedirectURIs = []string{"https://a.example/cb?app=*"} }, []string{"wildcard"}},
		{"wildcard loopback port", func(r *Registration) { r.RedirectURIs = []string{"http://127.0.0.1:*/cb"} }, []string{"wildcard"}},
		{"wildcard private-use scheme", func(r *Registration) { r.RedirectURIs = []string{"com.example.app:/*"} }, []string{"wildcard"}},
		{"duplicate", func(r *Registration) { r.RedirectURIs = []string{"https://a.example/cb", "https://a.example/cb"} }, []string{"listed twice"}},
		{"privacy http", func(r *Registration) { r.PrivacyPolicyURL = "http://a.example/p" }, []string{"privacy_policy_url", "must use https"}},
		{"terms custom scheme", func(r *Registration) { r.TermsURL = "com.example:/t" }, []string{"terms_url", "must use https"}},
		{"webhook http", func(r *Registration) { r.WebhookURL = "http://a.example/hook" }, []string{"webhook_url", "must use https"}},
		{"webhook fragment", func(r *Registration) { r.WebhookURL = "https://a.example/hook#x" }, []string{"webhook_url", "fragment"}},
		{"webhook relative", func(r *Registration) { r.WebhookURL = "/hook" }, []string{"webhook_url", "absolute"}},
		{"terms relative", func(r *Registration) { r.TermsURL = "terms.html" }, []string{"terms_url", "absolute"}},
		{"attestation", func(r *Registration) { r.Attestation = Attestation{Answers: map[string]bool{"sells_data": true}} }, []string{"unknown question \"sells_data\""}},
		{"description too long", func(r *Registration) { r.Description = strings.Repeat("d", maxDescription+1) }, []string{"description is longer"}},
		{"contact email", func(r *Registration) { r.ContactEmail = "Dana <dana@x.example>" }, []string{"contact email", "not an email address"}},
		{"contact phone", func(r *Registration) { r.ContactPhone = "call me" }, []string{"contact phone"}},
		{"logo_uri http", func(r *Registration) { r.LogoURI = "http://a.example/logo.png" }, []string{"logo_uri", "must use https"}},
		{"empty scope", func(r *Registration) { r.Scopes = []string{"openid", ""} }, []string{"scope \"\""}},
		{"everything at once", func(r *Registration) {
			*r = Registration{RedirectURIs: []string{"http://a.example/cb", "javascript:x"}, TermsURL: "ftp://x", Attestation: Attestation{Answers: map[string]bool{"?": true}}}
		}, []string{"name is required", "\"http://a.example/cb\" must use https", "\"javascript:x\" uses a forbidden", "terms_url", "attestation"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg, st, _ := newTestRegistry()
			in := validReg()
			tc.mutate(&in)
			out, err := reg.Register(context.Background(), in, devActor)
			secret := out.Secret
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if secret != "" || len(st.apps) != 0 || len(st.events) != 0 {
				t.Errorf("a refused registration changed something")
			}
		})
	}
}

// testPNG encodes a w×h PNG.
func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRegisterLogo: a PNG logo is stored apart from the app, which records
// that it has one; anything but a reasonable PNG is refused.
func TestRegisterLogo(t *testing.T) {
	st := newFakeStore()
	reg := &Registry{Store: st}
	base := Registration{Name: "Tracker", RedirectURIs: []string{"https://a.example/cb"}, WebsiteURL: "https://a.example/"}
	withLogo := base
	withLogo.Logo = testPNG(t, 64, 64)
	out, err := reg.Register(context.Background(), withLogo, devActor)
	app := out.App
	if err != nil || !app.HasLogo || app.WebsiteURL != "https://a.example/" {
		t.Fatalf("Register = %+v, %v", app, err)
	}
	if got, err := st.GetAppLogo(context.Background(), app.ClientID); err != nil || !bytes.Equal(got, withLogo.Logo) {
		t.Fatalf("stored logo: %v", err)
	}
	if out, _ := reg.Register(context.Background(), base, devActor); out.App.HasLogo {
		t.Fatal("an app without a logo says it has one")
	}
	for name, logo := range map[string][]byte{
		"not a PNG": []byte("<svg onload=alert(1)>"), "too small": testPNG(t, 8, 8), "too large": testPNG(t, 600, 100),
		"too heavy": append(testPNG(t, 64, 64), make([]byte, MaxLogoBytes)...),
	} {
		bad := base
		bad.Logo = logo
		if _, err := reg.Register(context.Background(), bad, devActor); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "logo") {
			t.Errorf("%s: %v, want a logo problem", name, err)
		}
	}
}
