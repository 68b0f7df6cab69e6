package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/gateway/store/redis"
	"github.com/patientaccess/gateway/gateway/webhook"
)

// TestDeliveryKeysExpire: a revocation notice's key and the indexes that
// list it expire the audit retention after it was made, so that notices
// (each holding a signed token that names a Patient) do not pile up in
// Redis for ever; and the by-time indexes drop entries past the retention
// when a notice is made.
func TestDeliveryKeysExpire(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	const retention = 48 * time.Hour
	now := time.Now().UTC()
	s, prefix := newStore(t, c, redis.WithAuditRetention(retention), redis.WithNow(func() time.Time { return now }))
	create := func(id string, created time.Time) {
		t.Helper()
		d := webhook.Delivery{ID: id, ClientID: "app1", URL: "https://app.example/hook", Event: webhook.EventGrantRevoked,
			Token: "h.p." + id, CreatedAt: created, Status: webhook.StatusPending, NextAttempt: created}
		if err := s.CreateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	create("old", now.Add(-retention-time.Hour)) // as if made long ago
	create("d1", now)

	wantMS := now.Add(retention).UnixMilli()
	if now.Add(retention).UnixNano()%int64(time.Millisecond) != 0 {
		wantMS++ // rounded up
	}
	for _, key := range []string{"whook:d1", "whooks:all", "whooks:app:app1", "whooks:due"} {
		at, err := c.PExpireTime(ctx, prefix+key).Result()
		if err != nil || at.Milliseconds() != wantMS {
			t.Errorf("%s expires at %d ms (%v), want the retention after d1 was made, %d ms", key, at.Milliseconds(), err, wantMS)
		}
	}
	for _, key := range []string{"whooks:all", "whooks:app:app1"} {
		ids, err := c.ZRange(ctx, prefix+key, 0, -1).Result()
		if err != nil || strings.Join(ids, ",") != "d1" {
			t.Errorf("%s = %q (%v), want d1 alone: the entry past the retention trimmed", key, ids, err)
		}
	}
}
