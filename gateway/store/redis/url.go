package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The URL schemes ParseURL accepts; an "s" after "redis" turns on TLS.
var schemes = map[string]struct{ mode, tls string }{
	"redis":           {"single", ""},
	"rediss":          {"single", "tls"},
	"redis+sentinel":  {"sentinel", ""},
	"rediss+sentinel": {"sentinel", "tls"},
	"redis+cluster":   {"cluster", ""},
	"rediss+cluster":  {"cluster", "tls"},
}

// ParseURL turns a GATEWAY_REDIS_URL into client options. The forms are:
//
//	redis://[user:password@]host[:6379][/db]             one node
//	rediss://…                                           one node over TLS
//	redis+sentinel://[user:password@]host1[:26379],host2[:26379]/master[/db]
//	redis+cluster://[user:password@]host1[:6379],host2[:6379]
//
// and rediss+sentinel, rediss+cluster for TLS. In the Sentinel form the
// credentials are the master's; the Sentinels themselves are contacted
// without a password. Cluster has no database number (only /0 is allowed).
// User and password may be percent-encoded. Query parameters are refused.
// Errors never contain the password.
func ParseURL(s string) (*goredis.UniversalOptions, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return nil, errors.New("redis url: missing scheme (want redis://, rediss://, redis+sentinel:// or redis+cluster://)")
	}
	sc, ok := schemes[strings.ToLower(scheme)]
	if !ok {
		return nil, fmt.Errorf("redis url: unknown scheme %q", safeScheme(scheme))
	}
	opts := &goredis.UniversalOptions{}
	// The password may contain '@' or '/' unescaped: the last '@' ends it.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, pass, err := parseUserinfo(rest[:at])
		if err != nil {
			return nil, err
		}
		opts.Username, opts.Password = user, pass
		rest = rest[at+1:]
	}
	if strings.ContainsAny(rest, "?#") {
		return nil, errors.New("redis url: query parameters and fragments are not supported")
	}
	hosts, path, _ := strings.Cut(rest, "/")
	defaultPort := "6379"
	if sc.mode == "sentinel" {
		defaultPort = "26379"
	}
	addrs, err := parseHosts(hosts, defaultPort)
	if err != nil {
		return nil, err
	}
	opts.Addrs = addrs
	if err := parsePath(opts, sc.mode, path); err != nil {
		return nil, err
	}
	if sc.tls != "" {
		host, _, _ := net.SplitHostPort(addrs[0])
		opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return opts, nil
}

// parseUserinfo splits and unescapes "user:password", ":password" or "user".
func parseUserinfo(s string) (user, pass string, err error) {
	rawUser, rawPass, _ := strings.Cut(s, ":")
	if user, err = url.PathUnescape(rawUser); err != nil {
		return "", "", errors.New("redis url: invalid percent-encoding in the user name")
	}
	if pass, err = url.PathUnescape(rawPass); err != nil {
		return "", "", errors.New("redis url: invalid percent-encoding in the password")
	}
	return user, pass, nil
}

// parseHosts splits a comma-separated host list into host:port addresses.
func parseHosts(s, defaultPort string) ([]string, error) {
	if s == "" {
		return nil, errors.New("redis url: no host")
	}
	var addrs []string
	for h := range strings.SplitSeq(s, ",") {
		host, port, err := splitHostPort(h, defaultPort)
		if err != nil {
			return nil, fmt.Errorf("redis url: invalid host %q", safe(h))
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("redis url: invalid port in host %q", safe(h))
		}
		if host == "" || strings.ContainsAny(host, " /\\@[]") {
			return nil, fmt.Errorf("redis url: invalid host %q", safe(h))
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	return addrs, nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port".
func splitHostPort(h, defaultPort string) (host, port string, err error) {
	switch {
	case strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]"):
		return h[1 : len(h)-1], defaultPort, nil
	case strings.Contains(h, ":"):
		return net.SplitHostPort(h)
	}
	return h, defaultPort, nil
}

// parsePath reads the database number and, for Sentinel, the master name.
func parsePath(opts *goredis.UniversalOptions, mode, path string) error {
	path = strings.TrimSuffix(path, "/")
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	switch mode {
	case "single":
		if len(opts.Addrs) != 1 {
			return errors.New("redis url: several hosts need redis+sentinel:// or redis+cluster://")
		}
	case "sentinel":
		if len(parts) == 0 || parts[0] == "" {
			return errors.New("redis url: sentinel needs the master name: redis+sentinel://host:26379/master")
		}
		opts.MasterName, parts = parts[0], parts[1:]
	case "cluster":
		opts.IsClusterMode = true
	}
	if len(parts) > 1 {
		return errors.New("redis url: too many path segments")
	}
	if len(parts) == 1 {
		db, err := strconv.Atoi(parts[0])
		if err != nil || db < 0 {
			return fmt.Errorf("redis url: invalid database number %q", safe(parts[0]))
		}
		if mode == "cluster" && db != 0 {
			return errors.New("redis url: Redis Cluster has only database 0")
		}
		opts.DB = db
	}
	return nil
}

// safe shortens a URL fragment quoted in an error. Fragments quoted come
// from after the credentials, so they cannot hold the password.
func safe(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// safeScheme quotes a scheme only if it looks like one: text before "://"
// could hold credentials when the URL is malformed.
func safeScheme(s string) string {
	for _, r := range s {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-", r) {
			return "(not shown)"
		}
	}
	return safe(s)
}

// Open parses the URL, connects with bounded timeouts (DialTimeout,
// IOTimeout, PoolTimeout, MaxRetries), checks that Redis answers within
// timeout and returns a store on it with the client, which the caller
// closes.
func Open(ctx context.Context, rawURL string, timeout time.Duration, opts ...Option) (*Store, goredis.UniversalClient, error) {
	o, err := ParseURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	c := newClient(o)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s := New(c, opts...)
	if err := s.Ping(pctx); err != nil {
		c.Close()
		return nil, nil, err
	}
	return s, c, nil
}
