// Package console is the plan's admin console: plan staff sign in as
// people (through the plan's OpenID Connect provider, with the relying
// party members use, or with a local account in the demo), as an admin or
// a reviewer, and review the apps that ask to connect: the queue of pending
// apps, each app's check results, attestation answers, history and usage,
// the decisions (admins only), the registry with filter, search and CSV
// export, and the decisions report per criteria version.
//
// Every page is rendered by gateway/ui in the members' layout and
// stylesheet. Sessions live in the store (any replica serves them) under
// ids no member session can reach; every form carries the anti-forgery
// token, and pages cannot be framed.
package console
