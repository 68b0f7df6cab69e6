// Package apps owns the third-party app registry of the Patient Access
// Gateway: the app record (with its privacy attestation, asked of every
// app in the same words and never a reason to refuse one), the plan's
// objective security criteria (a versioned catalog, CriteriaVersion, with
// automated checks whose latest results are kept beside the app), the
// plan's decisions (approve, deny, suspend, reinstate) by an Actor, citing
// criteria and evidence, in an append-only history, the grants members
// give apps, and the audit events every decision and data access leaves
// behind.
//
// Registry is the one way to change an app; it declares the Store it
// needs, and the backends live in gateway/store.
package apps
