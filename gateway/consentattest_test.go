package gateway_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// attestationSection is the consent page's attestation section.
var attestationSection = regexp.MustCompile(`(?s)<section class="(?:attest|danger)" id="attestation".*?</section>`)

// TestConsentAttestation: the consent page says, in the same words for
// every app, whether the app attested and to which questions; an app that
// did not gets the stronger notice and a link to the guide, and can still
// be authorized end to end: attestation never refuses a grant. A change of
// the app's privacy policy is told with its date, and earlier answers are
// marked as given before it.
func TestConsentAttestation(t *testing.T) {
	h := newHarness(t, memoryStore)
	ctx := context.Background()

	t.Run("unattested app is authorized", func(t *testing.T) {
		conf := h.registerApp(true, "approved")
		b := h.browser()
		l := h.newLaunch(conf)
		p := h.consentPage(b, l, "alice")
		section := attestationSection.FindString(p.body)
		if !strings.Contains(section, "has not told") || !strings.Contains(section, `href="/guide"`) || strings.Contains(section, "answered:") {
			t.Fatalf("attestation section of an unattested app:\n%s", section)
		}
		r := b.consent(p, "allow")
		tok, err := conf.Exchange(ctx, h.codeFrom(r, l.state), oauth2.VerifierOption(l.verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if code, _ := h.fhirGet(tok.AccessToken, "/Patient/"+h.patient["alice"]); code != http.StatusOK {
			t.Fatalf("the unattested app's token read %d", code)
		}
	})

	t.Run("answers in the same words", func(t *testing.T) {
		answers := map[string]any{"answers": map[string]bool{"public_policy": true, "states_uses": true, "express_consent": false, "device_data": true}, "by": "Dana"}
		var sections []string
		for _, name := range []string{"Alpha Tracker", "Beta Wallet"} {
			var reg struct {
				ClientID string `json:"client_id"`
			}
			if code := h.admin("POST", "/admin/apps", map[string]any{"name": name, "developer": "Co", "redirect_uris": []string{appRedirect},
				"public": true, "attestation": answers}, &reg); code != http.StatusCreated {
				t.Fatalf("register %s: %d", name, code)
			}
			h.admin("POST", "/admin/apps/"+reg.ClientID+"/approve", testApproval, nil)
			conf := &oauth2.Config{ClientID: reg.ClientID, RedirectURL: appRedirect, Scopes: []string{"launch/patient", "patient/*.rs"},
				Endpoint: oauth2.Endpoint{AuthURL: h.endpoint("authorization_endpoint"), TokenURL: h.endpoint("token_endpoint")}}
			p := h.consentPage(h.browser(), h.newLaunch(conf), "alice")
			s := attestationSection.FindString(p.body)
			for _, want := range []string{"What " + name + " answered:", "<strong>Yes</strong>", "<strong>No</strong>", "<strong>No answer</strong>", "does NOT follow"} {
				if !strings.Contains(s, want) {
					t.Errorf("%s: the section does not say %q:\n%s", name, want, s)
				}
			}
			sections = append(sections, strings.ReplaceAll(s, name, "APP"))
		}
		if sections[0] != sections[1] {
			t.Fatalf("two apps with the same answers are described differently:\n%s\n---\n%s", sections[0], sections[1])
		}
	})

	t.Run("policy changed", func(t *testing.T) {
		var reg struct {
			ClientID string `json:"client_id"`
		}
		h.admin("POST", "/admin/apps", map[string]any{"name": "Gamma Diary", "developer": "Co", "redirect_uris": []string{appRedirect},
			"public": true, "privacy_policy_url": "https://gamma.example/privacy", "attestation": "attested"}, &reg)
		h.admin("POST", "/admin/apps/"+reg.ClientID+"/approve", testApproval, nil)
		changed := time.Now().Add(time.Hour)
		if _, err := h.gw.Registry.PolicyChanged(ctx, reg.ClientID, changed, "privacy policy changed"); err != nil {
			t.Fatal(err)
		}
		conf := &oauth2.Config{ClientID: reg.ClientID, RedirectURL: appRedirect, Scopes: []string{"launch/patient", "patient/*.rs"},
			Endpoint: oauth2.Endpoint{AuthURL: h.endpoint("authorization_endpoint"), TokenURL: h.endpoint("token_endpoint")}}
		p := h.consentPage(h.browser(), h.newLaunch(conf), "alice")
		if !strings.Contains(p.body, "This app changed its privacy policy on ") || !strings.Contains(p.body, "before it changed its privacy policy") {
			t.Fatalf("the consent page does not tell of the change:\n%s", p.body)
		}
	})
}
