package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ory/fosite"

	"github.com/patientaccess/gateway/apps"
)

// serveIntrospect is RFC 7662 introspection. The caller must authenticate
// as a confidential client, and learns only about its own tokens: any other
// token is reported inactive, so one app cannot probe another's.
//
// The usual call, an app asking about one of its own access tokens with
// HTTP Basic credentials, is throttled in the store step that checks the
// token (introspectAccess): the client-auth throttle is looked at and, if
// it lets the call through, the introspection throttle counts it, before
// the app is authenticated. A call that then fails to authenticate has
// thus counted once against the introspection allowance of the client it
// names, and once as a failed client authentication. Every other call is
// throttled around fosite's introspection as the token and revocation
// endpoints are: client-auth throttle first, the introspection throttle
// once the client is authenticated.
func (s *Server) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		err := fosite.ErrRequestUnauthorized.WithHint("Authenticate with the client's credentials.")
		challengeClient(w, err)
		s.provider.WriteIntrospectionError(ctx, w, err)
		return
	}
	if err := checkForm(r); err != nil {
		s.provider.WriteIntrospectionError(ctx, w, err)
		return
	}
	fast, err := s.introspectAccess(ctx, r)
	switch {
	case err != nil:
		s.writeThrottled(ctx, w, 0, err)
		return
	case fast.gated.Hold > 0:
		s.writeThrottled(ctx, w, fast.gated.Hold, nil)
		return
	case fast.answer != nil:
		if !s.introspectThrottled(ctx, w, r, fast.gated) {
			fast.answer.write(w)
		}
		return
	case !fast.gated.Judged && s.clientThrottled(ctx, w, r):
		return
	}
	ir, err := s.provider.NewIntrospectionRequest(ctx, r, NewSession())
	if err != nil && s.storeFailed(ctx, w, "introspection", err) {
		return
	}
	s.noteClientAuth(ctx, r, err)
	authenticated := err == nil || errors.Is(err, fosite.ErrInactiveToken)
	if authenticated && s.introspectThrottled(ctx, w, r, fast.gated) {
		return
	}
	if err != nil {
		if !errors.Is(err, fosite.ErrInactiveToken) {
			s.logOAuthError(ctx, "introspection refused", err)
			challengeClient(w, err)
		}
		s.provider.WriteIntrospectionError(ctx, w, err)
		return
	}
	if ir.IsActive() && ir.GetAccessRequester().GetClient().GetID() != clientIDOf(r) {
		ir = &fosite.IntrospectionResponse{Active: false}
	}
	s.provider.WriteIntrospectionResponse(ctx, w, ir)
}

// fastIntrospection is what introspectAccess found.
type fastIntrospection struct {
	// gated is the throttles judged in the token check's store step;
	// not Judged when the request was not one introspectAccess takes.
	gated Gated
	// answer is the introspection's answer, when it is one
	// introspectAccess answers.
	answer *activeAnswer
}

// introspectAccess answers the usual introspection, an app asking about
// one of its own live access tokens, from the one store step of the FHIR
// API's token check (the token's record, its app and its grant), which
// also judges the client's throttles (CheckAccessGated: the client-auth
// allowance looked at, an introspection event taken if it may), and the
// token's compact claims, instead of fosite's path (the client, the
// token's pointer and record, its app and grant: five Redis round trips,
// and the stored request decoded) and fosite's writer. The app is authenticated against the
// app that step read, which must be the token's own (an app learns nothing
// of another's tokens), as fosite authenticates it: HTTP Basic
// credentials of an approved confidential app. The answer has the members
// fosite writes for the request it would have rebuilt (activeAnswer).
//
// A request with HTTP Basic credentials and an access token whose HMAC
// is good has its throttles judged here, whatever comes of it, and goes
// on to fosite's path with that judgement when it is not answered here:
// another app's token, a token that is not live, a record without
// version-2 claims (stored by an older gateway), credentials that do not
// match, a store failure after the throttles were judged. Anything else
// (other credentials, a refresh token or a token_type_hint other than
// access_token, a scope parameter, a forged token) is left to fosite's
// path unjudged. The error is the store's failure before it judged the
// throttles.
func (s *Server) introspectAccess(ctx context.Context, r *http.Request) (fastIntrospection, error) {
	token := r.PostForm.Get("token")
	hint := r.PostForm.Get("token_type_hint")
	if !strings.HasPrefix(token, accessTokenPrefix) || (hint != "" && hint != string(fosite.AccessToken)) ||
		r.PostForm.Has("scope") || r.Header.Get("Authorization") == "" {
		return fastIntrospection{}, nil
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		return fastIntrospection{}, nil
	}
	clientID, err1 := url.QueryUnescape(id)
	clientSecret, err2 := url.QueryUnescape(secret)
	if err1 != nil || err2 != nil || clientID == "" {
		return fastIntrospection{}, nil
	}
	gate := s.introspectGate(clientID)
	step := &checkStep{gate: &gate}
	c, ac, err := s.checkLiveAccess(ctx, token, step)
	fast := fastIntrospection{gated: step.gated}
	switch {
	case !fast.gated.Judged && errors.Is(err, ErrInvalidToken):
		return fastIntrospection{}, nil // a forged token: the store was not asked
	case !fast.gated.Judged:
		return fastIntrospection{}, fmt.Errorf("introspect: %w", err)
	case err != nil || fast.gated.Hold > 0 || c.IssuedAt.IsZero() || !c.FHIRAudience || c.ClientID != clientID ||
		ac.App.Public || !apps.SecretMatches(ac.App.SecretHash, clientSecret):
		return fast, nil
	}
	fast.answer = &activeAnswer{iss: s.cfg.Issuer, aud: s.cfg.FHIRBaseURL, clientID: c.ClientID, sub: c.Subject,
		patient: c.Patient, scopes: c.Scopes, exp: c.ExpiresAt.Unix(), iat: c.IssuedAt.Unix()}
	return fast, nil
}

// activeAnswer is the introspection answer for an app's own live access
// token (RFC 7662 §2.2): the members fosite's WriteIntrospectionResponse
// writes for the request fosite's path rebuilds from the token (active,
// aud, client_id, exp, iat, scope, sub, and the session's extra claims
// iss, patient and fhirUser), written the way it writes them (keys in
// order, HTML-safe strings, a final newline), without building that
// request, its session and the map fosite encodes.
type activeAnswer struct {
	iss, aud, clientID, sub, patient string
	scopes                           []string
	exp, iat                         int64 // Unix seconds
}

// answerBuffers holds the buffers answers are written from.
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// write writes the answer with fosite's headers (JSON, not to be cached).
func (a *activeAnswer) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	bp := answerBuffers.Get().(*[]byte)
	b := a.append((*bp)[:0])
	_, _ = w.Write(b)
	*bp = b
	answerBuffers.Put(bp)
}

// append appends the answer's JSON to b. Members fosite leaves out when
// empty are left out alike.
func (a *activeAnswer) append(b []byte) []byte {
	b = append(b, `{"active":true`...)
	if a.aud != "" {
		b = appendJSONString(append(b, `,"aud":[`...), a.aud)
		b = append(b, ']')
	}
	b = appendMember(b, "client_id", a.clientID)
	b = strconv.AppendInt(append(b, `,"exp":`...), a.exp, 10)
	b = appendMember(b, "fhirUser", a.fhirUser())
	b = strconv.AppendInt(append(b, `,"iat":`...), a.iat, 10)
	b = appendMember(b, "iss", a.iss)
	b = appendMember(b, "patient", a.patient)
	if len(a.scopes) > 0 {
		b = append(b, `,"scope":"`...)
		for i, sc := range a.scopes {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendJSONChars(b, sc)
		}
		b = append(b, '"')
	}
	b = appendMember(b, "sub", a.sub)
	return append(b, "}\n"...)
}

// fhirUser is the member's Patient resource, as the session names it.
func (a *activeAnswer) fhirUser() string {
	if a.patient == "" {
		return ""
	}
	return a.aud + "/Patient/" + a.patient
}

// appendMember appends ,"name":"value" unless value is empty.
func appendMember(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(append(append(b, ',', '"'), name...), '"', ':')
	return appendJSONString(b, value)
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it by default.
func appendJSONString(b []byte, s string) []byte {
	return append(appendJSONChars(append(b, '"'), s), '"')
}

// appendJSONChars appends s's characters as encoding/json escapes them
// inside a string by default: quote, backslash and control characters
// escaped (\n, \r, \t, \b and \f by name), <, > and & as \u003c,
// \u003e and \u0026 (HTML-safe), U+2028 and U+2029 escaped, invalid
// UTF-8 as U+FFFD.
func appendJSONChars(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
