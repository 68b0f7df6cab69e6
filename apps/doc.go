// Package apps owns the third-party app registry of the Patient Access
// Gateway: the apps that registered, the plan's vetting decisions about them
// (pending, approved, denied, suspended), the grants members give them, and
// the audit events every decision and data access leaves behind.
//
// It declares the Store it needs; the backends live in gateway/store.
package apps
