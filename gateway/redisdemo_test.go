package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/gateway"
	redisstore "github.com/patientaccess/gateway/gateway/store/redis"
)

// TestDemoSeedsRedis: with GATEWAY_REDIS_URL and --demo, the gateway opens
// Redis from the URL and seeds the demo members and app there; a second
// replica seeding the same Redis changes nothing and fails on nothing.
func TestDemoSeedsRedis(t *testing.T) {
	u, client := testRedis(t)
	deleteKeys(t, client, redisstore.DefaultPrefix) // the default prefix, as a deployment would use

	cfg := gateway.Config{Addr: "127.0.0.1:0", BaseURL: "http://127.0.0.1:8080", RedisURL: u, Demo: true, DemoPassword: demoPassword}
	var first time.Time
	for replica := range 2 {
		g, err := gateway.New(context.Background(), cfg, gateway.Options{})
		if err != nil {
			t.Fatalf("replica %d: %v", replica, err)
		}
		ctx := context.Background()
		m, err := g.Store.GetMember(ctx, "alice")
		if err != nil || !strings.HasPrefix(m.PatientID, "alice") {
			t.Fatalf("replica %d: demo member alice in Redis: %+v %v", replica, m, err)
		}
		app, err := g.Store.GetApp(ctx, gateway.DemoClientID)
		if err != nil || !app.Approved() {
			t.Fatalf("replica %d: demo app in Redis: %+v %v", replica, app, err)
		}
		if replica == 0 {
			first = app.CreatedAt
		} else if !app.CreatedAt.Equal(first) {
			t.Fatalf("the second replica re-created the demo app (created %v, then %v)", first, app.CreatedAt)
		}
		_ = g.Close()
	}
}
