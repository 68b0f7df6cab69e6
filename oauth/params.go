package oauth

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ory/fosite"
)

// Limits on OAuth request parameters, checked before any other work, so
// that a hostile request costs a linear scan of at most a few KiB.
const (
	// MaxAuthorizeQuery is the longest query string an authorization
	// request may have, in bytes.
	MaxAuthorizeQuery = 8 << 10
	// MaxParamBytes is the longest name or value of any one parameter.
	MaxParamBytes = 4 << 10
	// MaxScopes is how many scopes one request may name.
	MaxScopes = 50
	// MaxScopeBytes is the longest scope.
	MaxScopeBytes = 256
)

// singleValued are the parameters this server reads that RFC 6749 §3.1
// (and RFC 7009, RFC 7662, RFC 7636, OpenID Connect Core, SMART App
// Launch) define once per request: a request that repeats one is refused,
// since which value counts would be a guess. Unrecognised parameters are
// ignored, as RFC 6749 §3.1 asks, and so are parameters defined to repeat
// (RFC 8707 resource, fosite's audience).
var singleValued = map[string]bool{
	"response_type": true, "client_id": true, "redirect_uri": true, "scope": true, "state": true,
	"aud": true, "launch": true, "code_challenge": true, "code_challenge_method": true,
	"nonce": true, "prompt": true, "max_age": true, "response_mode": true, "display": true,
	"ui_locales": true, "login_hint": true, "id_token_hint": true, "acr_values": true, "claims": true,
	"request": true, "request_uri": true, "registration": true,
	"grant_type": true, "code": true, "code_verifier": true, "refresh_token": true,
	"client_secret": true, "client_assertion": true, "client_assertion_type": true,
	"token": true, "token_type_hint": true,
}

// checkParams applies, in one linear pass, the rules every OAuth request's
// parameters pass before anything else reads them: no single-valued
// parameter twice (RFC 6749 §3.1), no name or value over MaxParamBytes
// (invalid_request); at most MaxScopes scopes of at most MaxScopeBytes
// each (invalid_scope); a code_challenge of 43 to 128 characters of the
// RFC 7636 §4.2 alphabet (invalid_request).
func checkParams(form url.Values) error {
	if err := checkScopeList(form.Get("scope")); err != nil {
		return err
	}
	for name, values := range form {
		limit := MaxParamBytes
		if name == "scope" { // bounded by the scope limits instead
			limit = MaxScopes * (MaxScopeBytes + 1)
		}
		switch {
		case len(name) > MaxParamBytes:
			return fosite.ErrInvalidRequest.WithHintf("A parameter name is longer than %d bytes.", MaxParamBytes)
		case len(values) > 1 && singleValued[name]:
			return fosite.ErrInvalidRequest.WithHintf("The '%s' parameter is included more than once.", name)
		}
		for _, v := range values {
			if len(v) > limit {
				return fosite.ErrInvalidRequest.WithHintf("The '%.64s' parameter is longer than %d bytes.", name, limit)
			}
		}
	}
	if c, ok := form["code_challenge"]; ok && !validChallenge(c[0]) {
		return fosite.ErrInvalidRequest.WithHint("The code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~' (RFC 7636 §4.2).")
	}
	return nil
}

// checkScopeList counts and measures the scopes of a scope parameter,
// stopping at the first one over the limits.
func checkScopeList(raw string) error {
	n := 0
	for sc := range strings.FieldsSeq(raw) {
		if n++; n > MaxScopes {
			return fosite.ErrInvalidScope.WithHintf("At most %d scopes may be requested at once.", MaxScopes)
		}
		if len(sc) > MaxScopeBytes {
			return fosite.ErrInvalidScope.WithHintf("A scope is longer than %d bytes.", MaxScopeBytes)
		}
	}
	return nil
}

// validChallenge reports a code_challenge of the RFC 7636 §4.2 shape:
// 43 to 128 characters of ALPHA / DIGIT / "-" / "." / "_" / "~".
func validChallenge(c string) bool {
	if len(c) < 43 || len(c) > 128 {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '.' || b == '_' || b == '~') {
			return false
		}
	}
	return true
}

// GrantTypes are the grant types the token endpoint offers; discovery
// advertises them and any other is unsupported_grant_type.
var GrantTypes = []string{"authorization_code", "refresh_token"}

// checkForm reads the form of a token, revocation or introspection request
// (the body only: RFC 6749 §2.3.1 keeps credentials out of the URI) and
// applies checkParams to it, before any client authentication or store read.
func checkForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fosite.ErrInvalidRequest.WithHint("The request body is not a valid form.")
	}
	return checkParams(r.PostForm)
}

// checkTokenForm is checkForm for the token endpoint, which also refuses
// a grant type the server does not offer (RFC 6749 §5.2).
func checkTokenForm(r *http.Request) error {
	if err := checkForm(r); err != nil {
		return err
	}
	if gt := r.PostForm.Get("grant_type"); gt != "" && !slices.Contains(GrantTypes, gt) {
		return fosite.ErrUnsupportedGrantType.WithHintf("Only %v are offered.", GrantTypes)
	}
	return nil
}

// challengeClient adds the Basic challenge to a 401 from an endpoint that
// authenticates clients: RFC 6749 §5.2 asks for the scheme the client
// used, and RFC 9110 §15.5.2 for a challenge on every 401. The only
// password scheme offered is Basic.
func challengeClient(w http.ResponseWriter, err error) {
	if fosite.ErrorToRFC6749Error(err).CodeField == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauth", charset="UTF-8"`)
	}
}

// RefuseRequest answers, as RFC 6749 §5.2 JSON (invalid_request with the
// given status), a request to the token, revocation or introspection
// endpoint that the gateway refused before the endpoint read it: a body
// too large or not a form. Its signature is gateway/web.BodyRule.Refuse.
func (s *Server) RefuseRequest(w http.ResponseWriter, r *http.Request, status int, description string) {
	err := fosite.ErrInvalidRequest.WithDescription(description)
	err.CodeField = status
	s.provider.WriteAccessError(r.Context(), w, nil, err)
}
