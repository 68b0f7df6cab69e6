package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/patientaccess/gateway/gateway/store/memory"
	"github.com/patientaccess/gateway/gateway/store/storetest"
	"github.com/patientaccess/gateway/oauth"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c *storetest.Clock) storetest.Backend {
		return memory.New(c.Now)
	})
}

func BenchmarkGetToken(b *testing.B) {
	ctx := context.Background()
	s := memory.New(nil)
	rec := oauth.TokenRecord{RequestID: "req1", ClientID: "app1", Active: true,
		ExpiresAt: time.Now().Add(time.Hour), Request: make([]byte, 512)}
	if err := s.CreateToken(ctx, oauth.KindAccess, "sig1", rec); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.GetToken(ctx, oauth.KindAccess, "sig1"); err != nil {
			b.Fatal(err)
		}
	}
}
