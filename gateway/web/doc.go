// Package web is the gateway's small HTTP kit: security headers, CSRF
// protection for forms, CORS for browser apps, request ids, the one HTML
// error page, and logging that never writes tokens, secrets or PHI.
// Standard library only.
package web
