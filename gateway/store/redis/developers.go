package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/patientaccess/gateway/gateway/devaccount"
	"github.com/patientaccess/gateway/oauth"
)

var _ devaccount.Store = (*Store)(nil)

// developerKey holds one developer account, under a hash of its email
// address (no address appears in a key).
func (s *Store) developerKey(email string) string {
	sum := sha256.Sum256([]byte(email))
	return s.prefix + "dev:" + hex.EncodeToString(sum[:])
}

// CreateDeveloper stores a new developer account with SET NX, so of two
// sign-ups racing for one address one wins; the other gets
// devaccount.ErrExists.
func (s *Store) CreateDeveloper(ctx context.Context, a devaccount.Account) error {
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("redis: create developer: %w", err)
	}
	ok, err := s.c.SetNX(ctx, s.developerKey(a.Email), data, 0).Result()
	switch {
	case err != nil:
		return fmt.Errorf("redis: create developer: %w", err)
	case !ok:
		return fmt.Errorf("redis: create developer: %w", devaccount.ErrExists)
	}
	return nil
}

// GetDeveloper returns the account of an email address, or devaccount.ErrNotFound.
func (s *Store) GetDeveloper(ctx context.Context, email string) (devaccount.Account, error) {
	var a devaccount.Account
	err := s.getJSON(ctx, s.developerKey(email), &a)
	if errors.Is(err, oauth.ErrNotFound) {
		return devaccount.Account{}, fmt.Errorf("redis: get developer: %w", devaccount.ErrNotFound)
	}
	if err != nil {
		return devaccount.Account{}, fmt.Errorf("redis: get developer: %w", err)
	}
	return a, nil
}
