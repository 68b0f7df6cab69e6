package oauth

import (
	"net/http"
	"slices"

	"github.com/ory/fosite"
)

// GrantTypes are the grant types the token endpoint offers; discovery
// advertises them and any other is unsupported_grant_type.
var GrantTypes = []string{"authorization_code", "refresh_token"}

// checkTokenForm reads the token request's form (the body only, as RFC
// 6749 §3.2 asks) and refuses, before any client authentication or store
// read, a grant type the server does not offer (RFC 6749 §5.2).
func checkTokenForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fosite.ErrInvalidRequest.WithHint("The request body is not a valid form.")
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
