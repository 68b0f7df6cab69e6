// Package devaccount is the developer portal's accounts: app developers
// sign up with an email address and a password (bcrypt-hashed) and sign in
// to register apps and follow their review. A developer's apps are the
// ones registered by the actor apps.Actor{Kind: developer, ID: Account.ID}.
package devaccount

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/mail"
	"strings"
	"time"
)

// Account is one developer's account.
type Account struct {
	// ID names the developer for good (the app history's actor id):
	// "dev-" and a hash of the email address.
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name,omitempty"`
	Organisation string    `json:"organisation,omitempty"`
	PasswordHash string    `json:"password_hash"`
	CreatedAt    time.Time `json:"created_at"`
}

// Store keeps developer accounts. Every backend in gateway/store
// implements it and passes the conformance suite.
type Store interface {
	// CreateDeveloper stores a new account; ErrExists if its email
	// address (compared as NormalizeEmail gives it) has one. Atomic: of
	// two sign-ups racing for one address, one wins.
	CreateDeveloper(ctx context.Context, a Account) error
	// GetDeveloper returns the account of the email address, or
	// ErrNotFound.
	GetDeveloper(ctx context.Context, email string) (Account, error)
}

// Errors of a Store.
var (
	ErrExists   = errors.New("devaccount: an account with that email address exists")
	ErrNotFound = errors.New("devaccount: no such account")
)

// NormalizeEmail is the form an address is stored and looked up in:
// trimmed and lower-cased, or "" if it is not one address.
func NormalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return ""
	}
	return s
}

// IDFor is the account id of a (normalized) email address.
func IDFor(email string) string {
	sum := sha256.Sum256([]byte("developer\x00" + email))
	return "dev-" + hex.EncodeToString(sum[:10])
}
