// Package webhook tells an app, when a member ends its access, that the
// member's authorization is over and asks it to delete what it holds under
// its own policy.
//
// Each notice is a Security Event Token (RFC 8417): a JWT signed RS256 with
// the gateway's own signing key (the one in the JWKS the discovery
// documents name, so an app verifies it as it verifies id_tokens), typ
// "secevent+jwt", iss the gateway, aud the app's client_id, sub the
// pairwise subject the app knows the member by, and one event,
// EventGrantRevoked, carrying the Patient id and when access ended. It is
// delivered as RFC 8935 push delivery: POST to the app's registered
// webhook URL with Content-Type application/secevent+jwt; any 2xx answer
// is delivery. No secret is shared with the app, so none can leak.
//
// The member never waits: revoking stores a Delivery (Notifier), and a
// Dispatcher on every replica sends due deliveries, claimed through the
// store with a lease so that one replica sends each, retrying with
// exponential backoff. Admins read deliveries through the admin API.
package webhook
