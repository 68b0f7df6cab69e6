// Package admin is the plan's administration API for the app registry:
// register apps, approve, deny or suspend them, list them, and read the
// audit log. Every route sits under /admin/ behind one static bearer token
// (GATEWAY_ADMIN_TOKEN); without a token the API is off and answers 404.
//
// It also holds Client, the HTTP client the `gateway apps` command uses.
package admin
