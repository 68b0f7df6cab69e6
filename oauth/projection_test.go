package oauth

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"
)

// memberRequest is a request as the consent page makes it, with a
// session as newMemberSession builds it, its expiries set.
func memberRequest(base string) *fosite.Request {
	now := time.Now().UTC().Truncate(time.Second)
	sess := NewSession()
	sess.Member, sess.Patient = "alice", "alice-1001"
	sess.FHIRUser = base + "/Patient/alice-1001"
	sess.GrantID = "3f1c1c3e-1b7a-4d8e-9c1e-2b8f0e6d7a11"
	sess.GrantEnds = now.AddDate(0, 13, 0)
	sess.Sensitive = true
	sess.Subject = "pairwise-subject-0123456789abcdef0123456789ab"
	sess.Claims = &jwt.IDTokenClaims{Subject: sess.Subject, Issuer: "https://gw.example", RequestedAt: now, AuthTime: now,
		Extra: map[string]interface{}{"fhirUser": sess.FHIRUser}}
	sess.Headers = &jwt.Headers{Extra: map[string]interface{}{"kid": "k1"}}
	sess.SetExpiresAt(fosite.AccessToken, now.Add(time.Hour))
	sess.SetExpiresAt(fosite.RefreshToken, now.Add(90*24*time.Hour))
	sess.SetExpiresAt(fosite.AuthorizeCode, now.Add(time.Minute))
	scopes := fosite.Arguments{"openid", "fhirUser", "offline_access", "launch/patient", "patient/Patient.rs", "patient/ExplanationOfBenefit.rs"}
	return &fosite.Request{
		ID: sess.GrantID, RequestedAt: now, Client: &fosite.DefaultClient{ID: "app1"},
		RequestedScope: scopes, GrantedScope: scopes,
		RequestedAudience: fosite.Arguments{base}, GrantedAudience: fosite.Arguments{base},
		Form: url.Values{"redirect_uri": {"https://app.example/cb"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
			"code_challenge_method": {"S256"}, "nonce": {"n-0S6_WzA2Mj"}, "state": {"af0ifjsldkj"}, "code": {"secret-code"},
			"client_id": {"app1"}, "response_type": {"code"}, "scope": {"openid fhirUser"}, "aud": {base}},
		Session: sess,
	}
}

// TestCompactRequestReadsAsJSON: a request stored in the compact form
// reads back as the same request and session as its JSON form (what
// records held before it, and still read), except for what fosite never
// reads back from that kind of record: the form but the members
// storedFormKeys names and, for an access token, the id_token's claims
// but its issuer and the other tokens' expiries. The JSON form still
// reads. The compact form is a fraction of the JSON's size.
func TestCompactRequestReadsAsJSON(t *testing.T) {
	const base = "https://gw.example/fhir"
	s := &fositeStore{audience: base}
	for name, mutate := range map[string]func(*fosite.Request){
		"as consented": func(*fosite.Request) {},
		"narrowed refresh": func(r *fosite.Request) {
			r.GrantedScope = fosite.Arguments{"patient/Patient.rs"}
			r.Session.(*Session).GrantScopes = []string{"openid", "patient/Patient.rs", "patient/Coverage.rs"}
		},
		"other audience and grant": func(r *fosite.Request) {
			r.RequestedAudience = fosite.Arguments{"https://other.example"}
			r.GrantedAudience = nil
			sess := r.Session.(*Session)
			sess.GrantID, sess.FHIRUser, sess.Sensitive = "g-other", "https://elsewhere/Patient/x", false
			sess.Claims.Subject, sess.Claims.AuthenticationMethodsReferences = "other-sub", []string{"pwd"}
			sess.Headers = nil
			sess.SetExpiresAt("par_context", time.Now().UTC())
		},
		"no id_token claims": func(r *fosite.Request) { r.Session.(*Session).Claims = nil },
	} {
		for _, kind := range AllKinds {
			t.Run(name+"/"+string(kind), func(t *testing.T) {
				r := memberRequest(base)
				mutate(r)
				proj, _ := project(r)
				compact, err := s.encodeRequest(kind, proj)
				if err != nil || compact[0] != requestV2 {
					t.Fatalf("encodeRequest: % x, %v; want the compact form", compact[:min(len(compact), 1)], err)
				}
				raw, _ := json.Marshal(r.Session)
				proj.Session = raw
				legacy, _ := json.Marshal(proj)
				t.Logf("compact %d bytes, JSON %d bytes", len(compact), len(legacy))
				if len(compact)*5 > len(legacy)*2 {
					t.Errorf("compact form %d bytes, JSON %d: want at most 40%%", len(compact), len(legacy))
				}
				rec := TokenRecord{RequestID: r.ID, ClientID: "app1"}
				if kind == KindAccess {
					sess := r.Session.(*Session)
					rec.Claims = claims{GrantID: r.ID, ClientID: "app1", Member: sess.Member, Patient: sess.Patient,
						Scopes: proj.GrantedScopes, Sensitive: sess.Sensitive, ExpiresAt: sess.GetExpiresAt(fosite.AccessToken)}.encode()
				}
				rec.Request = compact
				gotSess := prefilledSession()
				got, err := s.decodeRequest(rec, gotSess)
				if err != nil {
					t.Fatal(err)
				}
				rec.Request = legacy
				wantSess := prefilledSession()
				want, err := s.decodeRequest(rec, wantSess)
				if err != nil {
					t.Fatal(err)
				}
				kept := url.Values{}
				for _, k := range storedFormKeys[kind] {
					if v, ok := want.Form[k]; ok {
						kept[k] = v
					}
				}
				want.Form, want.Session = kept, nil
				if len(want.GrantedAudience) == 0 && len(got.GrantedAudience) == 0 {
					want.GrantedAudience, got.GrantedAudience = nil, nil
				}
				if kind == KindAccess {
					// What reading an access token back uses: introspection
					// (subject, username, expiry, extra claims) and the
					// gateway's own session facts.
					exp := wantSess.GetExpiresAt(fosite.AccessToken).Truncate(time.Millisecond)
					if !gotSess.GetExpiresAt(fosite.AccessToken).Equal(exp) {
						t.Errorf("access expiry %v, want %v", gotSess.GetExpiresAt(fosite.AccessToken), exp)
					}
					if (gotSess.Claims == nil) != (wantSess.Claims == nil) {
						t.Errorf("access id_token claims %v, want %v", gotSess.Claims, wantSess.Claims)
					} else if gotSess.Claims != nil && (gotSess.Claims.Issuer != wantSess.Claims.Issuer || gotSess.Claims.Subject != wantSess.Subject) {
						t.Errorf("access id_token issuer and subject %q %q, want %q %q",
							gotSess.Claims.Issuer, gotSess.Claims.Subject, wantSess.Claims.Issuer, wantSess.Subject)
					}
					for _, ss := range []*Session{gotSess, wantSess} {
						ss.DefaultSession.ExpiresAt, ss.Claims, ss.Headers = nil, nil, nil
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("compact request reads as\n%+v\nJSON as\n%+v", got, want)
				}
				if !reflect.DeepEqual(gotSess, wantSess) {
					gj, _ := json.Marshal(gotSess)
					wj, _ := json.Marshal(wantSess)
					t.Errorf("compact session reads as\n%s\nJSON as\n%s", gj, wj)
				}
				if !reflect.DeepEqual(gotSess.GetExtraClaims(), wantSess.GetExtraClaims()) {
					t.Errorf("introspection's extra claims %v, want %v", gotSess.GetExtraClaims(), wantSess.GetExtraClaims())
				}
			})
		}
	}
}

// prefilledSession is a session as fosite passes it to its second read of
// a code, the new tokens' expiries already set: decoding merges the stored
// expiries and extra claims into it, as decoding JSON does.
func prefilledSession() *Session {
	sess := NewSession()
	sess.SetExpiresAt(fosite.IDToken, time.Unix(1900000000, 0).UTC())
	sess.Claims.Extra = map[string]interface{}{"kept": "yes"}
	return sess
}

// TestCompactRequestRefusesGarbage: a truncated or padded compact form is
// an error, not a half-read request.
func TestCompactRequestRefusesGarbage(t *testing.T) {
	s := &fositeStore{audience: "https://gw.example/fhir"}
	proj, _ := project(memberRequest(s.audience))
	b, err := s.encodeRequest(KindRefresh, proj)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{b[:len(b)-1], append(b[:len(b):len(b)], 0), b[:2]} {
		if _, err := s.decodeRequest(TokenRecord{RequestID: "r", Request: bad}, NewSession()); err == nil {
			t.Errorf("decoding %d of %d bytes: no error", len(bad), len(b))
		}
	}
}

// TestCompactScopes: every scope list reads back exactly, whether its
// scopes are in the tables, partly in them, or not at all.
func TestCompactScopes(t *testing.T) {
	lists := [][]string{
		nil,
		{"openid", "fhirUser", "launch/patient", "offline_access"},
		{"patient/Patient.read", "user/Coverage.rs", "system/*.*", "patient/ExplanationOfBenefit.rs"},
		{"patient/Observation.rs?category=laboratory", "patient/Unknown.read", "patient/Patient.xyz", "patient/", "patient/Patient",
			"other/Patient.read", "", "launch/unknown", "a/b.c.d", "patient/.read"},
	}
	for _, l := range lists {
		e := projEncoder{}
		e.scopes(l)
		d := projDecoder{claimsDecoder{b: e.b}}
		got := d.scopes()
		if err := d.end(); err != nil || !reflect.DeepEqual(got, l) {
			t.Errorf("scopes %q read back as %q, %v", l, got, err)
		}
	}
}
