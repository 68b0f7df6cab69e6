package gateway_test

import "testing"

// TestRefreshRedisRoundTrips bounds the Redis round trips of a refresh
// grant: the client-auth throttle's check, the client, the refresh
// token's pointer and record, its grant (its app is the one client
// authentication just read, not read again), the store's UseToken (2:
// the new pointers written with its script in one pipeline, then the used
// and dropped records' pointers) and the audit event. It was 12 when the
// app was read twice, 11 when UseToken read the old access token's
// signature and wrote the new pointers in round trips of their own, 9
// when it read the used token's pointer again before its script.
func TestRefreshRedisRoundTrips(t *testing.T) {
	m := &measuredRedis{}
	h := newHarness(t, m.open)
	conf := h.registerApp(false, "approved")
	rt := h.launchAs(conf, "alice").RefreshToken
	const refreshes, most = 5, 8
	m.rt.n.Store(0)
	for range refreshes {
		r := h.refreshAs(conf, rt, "")
		if r.status != 200 {
			t.Fatalf("refresh: %d %s", r.status, r.Error)
		}
		rt = r.RefreshToken
	}
	got := m.rt.n.Load()
	t.Logf("%d refreshes made %d Redis round trips (%.1f each)", refreshes, got, float64(got)/refreshes)
	if got > refreshes*most {
		t.Errorf("%d refreshes made %d Redis round trips, want at most %d each", refreshes, got, most)
	}
}
