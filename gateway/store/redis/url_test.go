package redis

import (
	"net"
	"slices"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url        string
		addrs      []string
		user, pass string
		db         int
		master     string
		cluster    bool
		tlsName    string // "" means no TLS
	}{
		{url: "redis://localhost", addrs: []string{"localhost:6379"}},
		{url: "REDIS://localhost/", addrs: []string{"localhost:6379"}},
		{url: "redis://localhost:6380/3", addrs: []string{"localhost:6380"}, db: 3},
		{url: "redis://user:p%40ss@h:1/2", addrs: []string{"h:1"}, user: "user", pass: "p@ss", db: 2},
		{url: "redis://:secret@h", addrs: []string{"h:6379"}, pass: "secret"},
		{url: "redis://default@h", addrs: []string{"h:6379"}, user: "default"},
		{url: "redis://:p@ss/w0rd:x@h:6379/1", addrs: []string{"h:6379"}, pass: "p@ss/w0rd:x", db: 1},
		{url: "redis://[::1]:6390", addrs: []string{"[::1]:6390"}},
		{url: "redis://[::1]", addrs: []string{"[::1]:6379"}},
		{url: "redis://10.0.0.5:6379/15", addrs: []string{"10.0.0.5:6379"}, db: 15},
		{url: "rediss://cache.example.org:6380", addrs: []string{"cache.example.org:6380"}, tlsName: "cache.example.org"},
		{url: "redis+sentinel://:pw@s1,s2:26380/mymaster", addrs: []string{"s1:26379", "s2:26380"}, pass: "pw", master: "mymaster"},
		{url: "redis+sentinel://s1/mymaster/2", addrs: []string{"s1:26379"}, master: "mymaster", db: 2},
		{url: "rediss+sentinel://s1.example/m", addrs: []string{"s1.example:26379"}, master: "m", tlsName: "s1.example"},
		{url: "redis+cluster://:pw@n1:7000,n2:7001", addrs: []string{"n1:7000", "n2:7001"}, pass: "pw", cluster: true},
		{url: "redis+cluster://n1", addrs: []string{"n1:6379"}, cluster: true},
		{url: "redis+cluster://n1/0", addrs: []string{"n1:6379"}, cluster: true},
		{url: "rediss+cluster://n1:7000,n2", addrs: []string{"n1:7000", "n2:6379"}, cluster: true, tlsName: "n1"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			o, err := ParseURL(tt.url)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if !slices.Equal(o.Addrs, tt.addrs) || o.Username != tt.user || o.Password != tt.pass ||
				o.DB != tt.db || o.MasterName != tt.master || o.IsClusterMode != tt.cluster {
				t.Fatalf("got addrs %q user %q pass %q db %d master %q cluster %v",
					o.Addrs, o.Username, o.Password, o.DB, o.MasterName, o.IsClusterMode)
			}
			switch {
			case tt.tlsName == "" && o.TLSConfig != nil:
				t.Fatalf("TLS on, want off")
			case tt.tlsName != "" && (o.TLSConfig == nil || o.TLSConfig.ServerName != tt.tlsName):
				t.Fatalf("TLS config %+v, want server name %q", o.TLSConfig, tt.tlsName)
			}
		})
	}
}

func TestParseURLInvalid(t *testing.T) {
	const pw = "Sup3rSecretPw"
	for _, u := range []string{
		"",
		"localhost:6379",
		"http://h",
		":" + pw + "@redis://h",
		"redis://",
		"redis://:" + pw + "@",
		"redis://:" + pw + "@h:0",
		"redis://:" + pw + "@h:99999",
		"redis://:" + pw + "@h:port",
		"redis://:" + pw + "@h/x",
		"redis://:" + pw + "@h/-1",
		"redis://:" + pw + "@h/1/2",
		"redis://:" + pw + "@a,b",
		"redis://:" + pw + "@h,/0",
		"redis://:" + pw + "@::1:6379",
		"redis://:" + pw + "@[::1",
		"redis://:" + pw + "@h?dial_timeout=1s",
		"redis://:" + pw + "@h#frag",
		"redis://:" + pw + "%zz@h",
		"redis://%zz:" + pw + "@h",
		"redis+sentinel://:" + pw + "@h",
		"redis+sentinel://:" + pw + "@h/",
		"redis+sentinel://:" + pw + "@h/m/x",
		"redis+cluster://:" + pw + "@h/1",
		"redis+cluster://:" + pw + "@h:1,",
	} {
		t.Run(u, func(t *testing.T) {
			o, err := ParseURL(u)
			if err == nil {
				t.Fatalf("ParseURL accepted it: %+v", o)
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "Sup3r") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"redis://localhost", "redis://u:p@h:1/2", "rediss://h", "redis+sentinel://:p@a,b:1/m/3",
		"redis+cluster://a:1,b:2", "redis://[::1]:1", "redis://:p%41@h", "redis://:a@b@c/d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseURL(s)
		if err != nil {
			// The password candidate: between "://" and the last '@', after ':'.
			_, rest, _ := strings.Cut(s, "://")
			if at := strings.LastIndex(rest, "@"); at >= 0 {
				_, pass, _ := strings.Cut(rest[:at], ":")
				if len(pass) >= 8 && strings.Count(s, pass) == 1 && strings.Contains(err.Error(), pass) {
					t.Fatalf("error shows the password %q: %v", pass, err)
				}
			}
			return
		}
		if len(o.Addrs) == 0 || o.DB < 0 {
			t.Fatalf("accepted %q with addrs %q db %d", s, o.Addrs, o.DB)
		}
		for _, a := range o.Addrs {
			if h, p, err := net.SplitHostPort(a); err != nil || h == "" || p == "" {
				t.Fatalf("accepted %q with bad address %q", s, a)
			}
		}
		sentinel := strings.Contains(strings.ToLower(s[:strings.Index(s, "://")]), "sentinel")
		if sentinel != (o.MasterName != "") {
			t.Fatalf("accepted %q with master %q", s, o.MasterName)
		}
	})
}
