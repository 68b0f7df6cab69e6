// Package admin is the plan's administration API for the app registry:
// register apps, check them against the criteria, approve, deny, suspend
// or reinstate them (recorded as the actor "token:admin-token"), list,
// filter and export them, read each app's history and the report of
// decisions per criteria version, and read the audit log. Every route sits
// under /admin/ behind one static bearer token (GATEWAY_ADMIN_TOKEN);
// without a token the API is off and answers 404.
//
// It also holds Client, the HTTP client the `gateway apps` command uses.
package admin
