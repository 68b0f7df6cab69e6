package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/oauth"
)

// EventGrantRevoked is the event type of a member ending an app's access.
const EventGrantRevoked = "urn:patientaccess:gateway:event:grant-revoked"

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed" // every attempt failed
)

// Delivery is one notice on its way to an app.
type Delivery struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"client_id"`
	URL       string    `json:"url"`
	Event     string    `json:"event"`
	Token     string    `json:"token"` // the signed event (a JWT), sent as the body
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	// NextAttempt is when a pending delivery is due.
	NextAttempt   time.Time `json:"next_attempt,omitzero"`
	LastAttemptAt time.Time `json:"last_attempt_at,omitzero"`
	// LastResult says how the last attempt went: the HTTP status, or why
	// there was none ("timeout", "connection refused"…). Never the body.
	LastResult  string    `json:"last_result,omitempty"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
}

// Store keeps deliveries. Both backends in gateway/store implement it and
// pass the conformance suite.
type Store interface {
	// CreateDelivery stores a new pending delivery, due at NextAttempt.
	CreateDelivery(ctx context.Context, d Delivery) error
	// ClaimDeliveries returns up to limit pending deliveries due at now and
	// hides them from other claims until now+lease, atomically: of
	// concurrent claims, each delivery goes to one.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// UpdateDelivery records an attempt: the delivery as it now is. A
	// pending one is due again at its NextAttempt.
	UpdateDelivery(ctx context.Context, d Delivery) error
	// ListDeliveries returns up to limit deliveries, newest first, of one
	// app when clientID is not empty.
	ListDeliveries(ctx context.Context, clientID string, limit int) ([]Delivery, error)
}

// Signer signs the notice's claims as a JWT of type typ with the
// gateway's key (oauth.Server implements it).
type Signer interface {
	SignJWT(claims map[string]any, typ string) (string, error)
}

// AppSource finds the app a notice goes to.
type AppSource interface {
	GetApp(ctx context.Context, clientID string) (apps.App, error)
}

// Notifier turns a member's revocation into a Delivery for apps that
// registered a webhook. It implements oauth.RevocationNotifier.
type Notifier struct {
	Store  Store
	Apps   AppSource
	Signer Signer
	Issuer string // the gateway's issuer URL
	Now    func() time.Time
	Logger *slog.Logger
	// Kick, when set, is told a delivery is waiting (the local
	// Dispatcher's Kick), so it goes out at once rather than at the next
	// poll.
	Kick func()
}

var _ oauth.RevocationNotifier = (*Notifier)(nil)

// GrantsRevoked stores the notice for the app, if it registered a webhook.
// A failure is logged: the member's revocation has already happened and
// never depends on the app.
func (n *Notifier) GrantsRevoked(ctx context.Context, r oauth.Revocation) {
	if err := n.enqueue(ctx, r); err != nil && n.Logger != nil {
		n.Logger.ErrorContext(ctx, "revocation notice not queued", "client_id", r.ClientID, "err", err)
	}
}

func (n *Notifier) enqueue(ctx context.Context, r oauth.Revocation) error {
	app, err := n.Apps.GetApp(ctx, r.ClientID)
	if err != nil {
		return fmt.Errorf("load app: %w", err)
	}
	if app.WebhookURL == "" {
		return nil
	}
	now := n.Now()
	jti, err := randomID()
	if err != nil {
		return err
	}
	token, err := n.Signer.SignJWT(map[string]any{
		"iss": n.Issuer, "aud": r.ClientID, "iat": now.Unix(), "jti": jti, "sub": r.Subject,
		"events": map[string]any{EventGrantRevoked: map[string]any{
			"patient":    r.Patient,
			"revoked_at": r.At.Unix(),
			"reason":     "member",
			"request":    "The member ended this app's access. Delete the data you received under it, as your privacy policy says.",
		}},
	}, "secevent+jwt")
	if err != nil {
		return fmt.Errorf("sign notice: %w", err)
	}
	d := Delivery{ID: jti, ClientID: r.ClientID, URL: app.WebhookURL, Event: EventGrantRevoked, Token: token,
		CreatedAt: now, Status: StatusPending, NextAttempt: now}
	if err := n.Store.CreateDelivery(ctx, d); err != nil {
		return fmt.Errorf("store delivery: %w", err)
	}
	if n.Kick != nil {
		n.Kick()
	}
	return nil
}

func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Errors a Store returns.
var (
	ErrNotFound      = errors.New("webhook: delivery not found")
	ErrAlreadyExists = errors.New("webhook: delivery already exists")
)
