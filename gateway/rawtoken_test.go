package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/patientaccess/gateway/gateway"
	redisstore "github.com/patientaccess/gateway/gateway/store/redis"
)

// TestNoRawCodeOrTokenInRedis: codes and tokens are stored by their HMAC
// signature only. After an authorization with openid (whose OpenID
// Connect session fosite keys by the code itself) and the exchange, no
// Redis key or string value holds the code or a token in the clear.
func TestNoRawCodeOrTokenInRedis(t *testing.T) {
	_, client := testRedis(t)
	prefix := fmt.Sprintf("pagtest:rawtoken:%d:", time.Now().UnixNano())
	deleteKeys(t, client, prefix)
	deleteKeys(t, client, "rate:"+prefix)
	h := newHarness(t, func(testing.TB) gateway.Store { return redisstore.New(client, redisstore.WithPrefix(prefix)) })
	conf := h.registerApp(false, "approved")
	l := h.newLaunch(conf)
	code := h.authorize(h.browser(), l, "alice")
	secrets := []string{code}
	check := func(when string) {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			value, _ := client.Get(ctx, key).Result() // non-string keys answer WRONGTYPE and ""
			for _, s := range secrets {
				if strings.Contains(key, s) || strings.Contains(value, s) {
					t.Errorf("%s: key %q holds a raw code or token", when, key)
				}
			}
		}
	}
	check("after authorization")
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	check("after the exchange")
}
