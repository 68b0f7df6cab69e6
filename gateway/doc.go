// Package gateway is the composition root of the Patient Access Gateway: it
// reads the configuration, opens the store, builds the authorization
// server, the FHIR API and the admin API, lists every mounted handler in one
// place, and wraps them in the middleware stack (request id, access log,
// security headers, tracing, CORS).
package gateway
