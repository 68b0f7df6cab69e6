// Package oauth is the gateway's OAuth 2.0 / SMART App Launch authorization
// server, built on github.com/ory/fosite: the authorize, token, introspection
// and revocation endpoints, JWKS and discovery documents, and the member
// login and consent pages.
//
// It reaches fosite in this package only, declares the storage it needs
// (Storage), and takes apps from the apps registry, rebuilding the client on
// every token read so that a suspended app is cut off at once.
package oauth
