// Package oauth is the gateway's OAuth 2.0 / SMART App Launch authorization
// server, built on github.com/ory/fosite: the authorize, token, introspection
// and revocation endpoints, JWKS and discovery documents, and what members
// do: sign in, consent by data category (explicit types only, a separate
// opt-in for sensitive records, one-time or time-limited grants), and, in
// their connected apps, read each app's access history and end its access
// (RevocationNotifier tells the app). The pages themselves are
// gateway/ui's, rendered through its typed methods.
//
// Members sign in with a local account (the demo's) or, when PlanSignIn is
// configured, through the plan's own OpenID Connect provider: the server is
// then a relying party (github.com/coreos/go-oidc with golang.org/x/oauth2;
// plansignin.go, plancallback.go, planstate.go) and links each member to
// exactly one FHIR Patient through a PatientDirectory it declares
// (memberlink.go).
//
// It reaches fosite and go-oidc in this package only, declares the storage
// it needs (Storage), and takes apps from the apps registry, rebuilding the
// client on every token read so that a suspended app is cut off at once.
package oauth
