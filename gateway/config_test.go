package gateway

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/patientaccess/gateway/oauth"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseConfig(t *testing.T) {
	redisEnv := map[string]string{"GATEWAY_REDIS_URL": "redis://x:6379/0", "GATEWAY_TOKEN_SECRET": strings.Repeat("s", 32), "GATEWAY_SIGNING_KEY_FILE": "/k.pem"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{name: "embedded default", check: func(c Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.BaseURL == "http://127.0.0.1:8080" && c.Demo && c.RedisURL == ""
		}},
		{name: "flags win over env", args: []string{"--addr", "127.0.0.1:9999", "--base-url", "https://api.plan.example/"},
			env: map[string]string{"GATEWAY_ADDR": "127.0.0.1:1"}, check: func(c Config) bool {
				return c.Addr == "127.0.0.1:9999" && c.BaseURL == "https://api.plan.example" && c.FHIRBaseURL() == "https://api.plan.example/fhir"
			}},
		{name: "redis turns demo off", env: map[string]string{"GATEWAY_REDIS_URL": "redis://x:6379/0", "GATEWAY_TOKEN_SECRET": strings.Repeat("s", 32), "GATEWAY_SIGNING_KEY_FILE": "/k.pem"},
			check: func(c Config) bool { return !c.Demo }},
		{name: "demo on redis by flag", args: []string{"--demo"}, env: map[string]string{"GATEWAY_REDIS_URL": "redis://x:6379/0"},
			check: func(c Config) bool { return c.Demo }},
		{name: "redis without shared secrets", env: map[string]string{"GATEWAY_REDIS_URL": "redis://x:6379/0"},
			wantErr: "GATEWAY_TOKEN_SECRET is required"},
		{name: "every problem at once", args: []string{"--addr", "nope", "--base-url", "ftp://x"},
			env: map[string]string{"GATEWAY_TOKEN_SECRET": "short", "GATEWAY_ADMIN_TOKEN": "short"}, wantErr: "addr"},
		{name: "http base URL outside demo mode", args: []string{"--base-url", "http://api.plan.example"}, env: redisEnv,
			wantErr: "base URL \"http://api.plan.example\" must use https outside demo mode"},
		{name: "http base URL on an address that is not loopback", args: []string{"--addr", "0.0.0.0:8080"}, env: redisEnv,
			wantErr: "must use https outside demo mode"},
		{name: "http base URL on loopback outside demo mode", args: []string{"--base-url", "http://localhost:8080"}, env: redisEnv,
			check: func(c Config) bool { return !c.Demo && c.BaseURL == "http://localhost:8080" }},
		{name: "http base URL on IPv6 loopback", args: []string{"--base-url", "http://[::1]:8080"}, env: redisEnv,
			check: func(c Config) bool { return c.BaseURL == "http://[::1]:8080" }},
		{name: "https base URL outside demo mode", args: []string{"--base-url", "https://api.plan.example"}, env: redisEnv,
			check: func(c Config) bool { return c.BaseURL == "https://api.plan.example" }},
		{name: "http base URL in demo mode", args: []string{"--demo", "--base-url", "http://gateway.local:8080"},
			check: func(c Config) bool { return c.Demo && c.BaseURL == "http://gateway.local:8080" }},
		{name: "bad GATEWAY_DEMO", env: map[string]string{"GATEWAY_DEMO": "maybe"}, wantErr: "GATEWAY_DEMO"},
		{name: "profiler off by default", check: func(c Config) bool { return !c.Pprof }},
		{name: "profiler by flag in demo mode", args: []string{"--pprof"}, check: func(c Config) bool { return c.Pprof }},
		{name: "profiler by env with an admin token", env: map[string]string{"GATEWAY_PPROF": "true", "GATEWAY_ADMIN_TOKEN": strings.Repeat("a", 16),
			"GATEWAY_REDIS_URL": "redis://x:6379/0", "GATEWAY_TOKEN_SECRET": strings.Repeat("s", 32), "GATEWAY_SIGNING_KEY_FILE": "/k.pem"},
			check: func(c Config) bool { return c.Pprof }},
		{name: "profiler without an admin token", args: []string{"--pprof"}, env: redisEnv, wantErr: "GATEWAY_PPROF needs GATEWAY_ADMIN_TOKEN"},
		{name: "bad GATEWAY_PPROF", env: map[string]string{"GATEWAY_PPROF": "maybe"}, wantErr: "GATEWAY_PPROF"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "no arguments"},
		{name: "upstream turns demo off", env: map[string]string{"GATEWAY_FHIR_UPSTREAM_URL": "https://fhir.plan.example/r4", "GATEWAY_FHIR_UPSTREAM_TOKEN": "t"},
			check: func(c Config) bool {
				return !c.Demo && c.Upstream.URL == "https://fhir.plan.example/r4" && c.Upstream.Token == "t" && c.Upstream.Scope == "system/*.rs"
			}},
		{name: "upstream with demo members", args: []string{"--demo"}, env: map[string]string{"GATEWAY_FHIR_UPSTREAM_URL": "http://127.0.0.1:8103/fhir"},
			check: func(c Config) bool { return c.Demo && c.Upstream.URL != "" }},
		{name: "upstream client credentials", env: map[string]string{"GATEWAY_FHIR_UPSTREAM_URL": "https://f.example/r4",
			"GATEWAY_FHIR_UPSTREAM_TOKEN_URL": "https://auth.example/token", "GATEWAY_FHIR_UPSTREAM_CLIENT_ID": "gw",
			"GATEWAY_FHIR_UPSTREAM_CLIENT_KEY_FILE": "/k.pem", "GATEWAY_FHIR_UPSTREAM_TIMEOUT": "3s"},
			check: func(c Config) bool { return c.Upstream.ClientKeyFile == "/k.pem" && c.Upstream.Timeout.Seconds() == 3 }},
		{name: "upstream URL with a query", env: map[string]string{"GATEWAY_FHIR_UPSTREAM_URL": "https://f.example/r4?x=1"}, wantErr: "GATEWAY_FHIR_UPSTREAM_URL"},
		{name: "upstream token and client credentials", env: map[string]string{"GATEWAY_FHIR_UPSTREAM_URL": "https://f.example/r4",
			"GATEWAY_FHIR_UPSTREAM_TOKEN": "t", "GATEWAY_FHIR_UPSTREAM_TOKEN_URL": "https://auth.example/token"}, wantErr: "not both"},
		{name: "client credentials need one credential", env: map[string]string{"GATEWAY_FHIR_UPSTREAM_URL": "https://f.example/r4",
			"GATEWAY_FHIR_UPSTREAM_TOKEN_URL": "https://auth.example/token", "GATEWAY_FHIR_UPSTREAM_CLIENT_ID": "gw"}, wantErr: "exactly one"},
		{name: "upstream auth without upstream", env: map[string]string{"GATEWAY_FHIR_UPSTREAM_TOKEN": "t"}, wantErr: "need GATEWAY_FHIR_UPSTREAM_URL"},
		{name: "bad upstream timeout", env: map[string]string{"GATEWAY_FHIR_UPSTREAM_URL": "https://f.example/r4", "GATEWAY_FHIR_UPSTREAM_TIMEOUT": "soon"}, wantErr: "GATEWAY_FHIR_UPSTREAM_TIMEOUT"},
		{name: "data directory from env", env: map[string]string{"GATEWAY_DATA_DIR": "/srv/fhir"},
			check: func(c Config) bool { return c.DataDir == "/srv/fhir" && c.Demo }},
		{name: "data flag wins", args: []string{"--data", "./members"}, env: map[string]string{"GATEWAY_DATA_DIR": "/srv/fhir"},
			check: func(c Config) bool { return c.DataDir == "./members" }},
		{name: "data with an upstream", args: []string{"--data", "./members"}, env: map[string]string{"GATEWAY_FHIR_UPSTREAM_URL": "https://fhir.plan.example/r4"},
			wantErr: "cannot be combined with GATEWAY_FHIR_UPSTREAM_URL"},
		{name: "durations default", check: func(c Config) bool {
			return c.RequestTimeout == DefaultRequestTimeout && c.ShutdownTimeout == DefaultShutdownTimeout && c.AuditRetention == DefaultAuditRetention
		}},
		{name: "durations set", env: map[string]string{"GATEWAY_REQUEST_TIMEOUT": "3s", "GATEWAY_SHUTDOWN_TIMEOUT": "25s", "GATEWAY_AUDIT_RETENTION": "8760h"},
			check: func(c Config) bool {
				return c.RequestTimeout == 3*time.Second && c.ShutdownTimeout == 25*time.Second && c.AuditRetention == 365*24*time.Hour
			}},
		{name: "bad duration", env: map[string]string{"GATEWAY_AUDIT_RETENTION": "90 days"}, wantErr: "GATEWAY_AUDIT_RETENTION"},
		{name: "zero duration", env: map[string]string{"GATEWAY_REQUEST_TIMEOUT": "0s"}, wantErr: "GATEWAY_REQUEST_TIMEOUT"},
		{name: "vetting defaults", check: func(c Config) bool {
			return !c.Vetting.DisableRegistration && !c.Vetting.AutoApprove && c.Vetting.PolicyWatch == DefaultPolicyWatch
		}},
		{name: "vetting set", env: map[string]string{"GATEWAY_DYNAMIC_REGISTRATION": "false", "GATEWAY_AUTO_APPROVE": "true", "GATEWAY_POLICY_WATCH_INTERVAL": "6h"},
			check: func(c Config) bool {
				return c.Vetting.DisableRegistration && c.Vetting.AutoApprove && c.Vetting.PolicyWatch == 6*time.Hour
			}},
		{name: "policy watch off", env: map[string]string{"GATEWAY_POLICY_WATCH_INTERVAL": "off"}, check: func(c Config) bool { return c.Vetting.PolicyWatch < 0 }},
		{name: "bad vetting", env: map[string]string{"GATEWAY_AUTO_APPROVE": "sometimes"}, wantErr: "GATEWAY_AUTO_APPROVE"},
		{name: "redis key prefix and introspection limit default", check: func(c Config) bool {
			return c.RedisKeyPrefix == DefaultRedisKeyPrefix && c.IntrospectLimit == (oauth.Limit{})
		}},
		{name: "redis key prefix and introspection limit set", env: map[string]string{"GATEWAY_REDIS_KEY_PREFIX": "plan-a:", "GATEWAY_INTROSPECT_LIMIT": " 5000 , 1ms"},
			check: func(c Config) bool {
				return c.RedisKeyPrefix == "plan-a:" && c.IntrospectLimit == oauth.Limit{Burst: 5000, Every: time.Millisecond}
			}},
		{name: "redis key prefix with a hash tag", env: map[string]string{"GATEWAY_REDIS_KEY_PREFIX": "{a}:"}, wantErr: "GATEWAY_REDIS_KEY_PREFIX"},
		{name: "introspection limit without a period", env: map[string]string{"GATEWAY_INTROSPECT_LIMIT": "120"}, wantErr: "GATEWAY_INTROSPECT_LIMIT"},
		{name: "introspection limit of no calls", env: map[string]string{"GATEWAY_INTROSPECT_LIMIT": "0,1s"}, wantErr: "burst"},
		{name: "introspection limit too large", env: map[string]string{"GATEWAY_INTROSPECT_LIMIT": "1000001,1s"}, wantErr: "burst"},
		{name: "introspection limit with a bad period", env: map[string]string{"GATEWAY_INTROSPECT_LIMIT": "120,soon"}, wantErr: "period"},
		{name: "introspection limit with a zero period", env: map[string]string{"GATEWAY_INTROSPECT_LIMIT": "120,0s"}, wantErr: "period"},
		{name: "policy watch too often", env: map[string]string{"GATEWAY_POLICY_WATCH_INTERVAL": "5s"}, wantErr: "GATEWAY_POLICY_WATCH_INTERVAL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(tc.args, env(tc.env), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("ParseConfig = %+v, %v", c, err)
			}
		})
	}
	_, err := ParseConfig([]string{"--addr", "nope", "--base-url", "ftp://x"}, env(map[string]string{"GATEWAY_TOKEN_SECRET": "short", "GATEWAY_ADMIN_TOKEN": "short"}), io.Discard)
	for _, want := range []string{"addr", "base URL", "GATEWAY_TOKEN_SECRET", "GATEWAY_ADMIN_TOKEN"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("combined error %v does not mention %s", err, want)
		}
	}
}

// TestParseConfigPlan: the plan's settings for its member pages, and every
// bad one reported at once.
func TestParseConfigPlan(t *testing.T) {
	c, err := ParseConfig(nil, env(map[string]string{"GATEWAY_PLAN_NAME": "Acme Health", "GATEWAY_PLAN_COLOR": "#0b5394",
		"GATEWAY_GRANT_MONTHS": "6", "GATEWAY_SENSITIVE_LABELS": "http://x|A,http://y|B", "GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7/32",
		"GATEWAY_PLAN_TIMEZONE": "America/Chicago", "GATEWAY_APP_GUIDE_URL": "https://acme.example/guide"}), io.Discard)
	if err != nil || c.Plan.Name != "Acme Health" || c.Plan.GrantMonths != 6 || len(c.Plan.SensitiveLabels) != 2 ||
		len(c.Plan.TrustedProxies) != 2 || c.Plan.GuideURL != "https://acme.example/guide" {
		t.Fatalf("ParseConfig = %+v, %v", c.Plan, err)
	}
	if c, _ := ParseConfig(nil, env(map[string]string{"GATEWAY_SENSITIVE_LABELS": "none"}), io.Discard); c.Plan.SensitiveLabels == nil || len(c.Plan.sensitive()) != 0 {
		t.Errorf("GATEWAY_SENSITIVE_LABELS=none: %v", c.Plan.sensitive())
	}
	if c, _ := ParseConfig(nil, env(nil), io.Discard); len(c.Plan.sensitive()) == 0 {
		t.Error("no sensitive labels by default")
	}
	_, err = ParseConfig(nil, env(map[string]string{"GATEWAY_PLAN_COLOR": "#ffee00", "GATEWAY_GRANT_MONTHS": "0",
		"GATEWAY_SENSITIVE_LABELS": "nocode", "GATEWAY_TRUSTED_PROXIES": "not-a-cidr", "GATEWAY_PLAN_TIMEZONE": "Mars/Olympus",
		"GATEWAY_PLAN_NOTICE_URL": "javascript:alert(1)"}), io.Discard)
	for _, want := range []string{"contrast", "GATEWAY_GRANT_MONTHS", "GATEWAY_SENSITIVE_LABELS", "GATEWAY_TRUSTED_PROXIES", "GATEWAY_PLAN_TIMEZONE", "notice of privacy practices URL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}
