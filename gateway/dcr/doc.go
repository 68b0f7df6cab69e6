// Package dcr serves OAuth 2.0 dynamic client registration (RFC 7591) and
// its management protocol (RFC 7592) over the app registry: a developer
// registers an app with a JSON document of client metadata, gets a client
// id (and a secret, for a confidential symmetric app) and a registration
// access token, and reads, updates or deletes the registration with that
// token. A registration lands pending and is checked against the plan's
// criteria; it cannot authorize anyone until it is approved.
package dcr
