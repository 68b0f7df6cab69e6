package redis

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// wantStdJSON fails unless appendEventJSON encodes e byte for byte as
// encoding/json does (with and without its ClientIP).
func wantStdJSON(t *testing.T, e apps.Event) {
	t.Helper()
	for _, withIP := range []bool{false, true} {
		std := e
		if !withIP {
			std.ClientIP = ""
		}
		want, wantErr := json.Marshal(std)
		got, err := appendEventJSON([]byte("prefix"), e, withIP)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, encoding/json's %v", err, wantErr)
		}
		if err == nil && !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("encoded %+v (client IP %v) as\n%s\nencoding/json:\n%s", e, withIP, got[len("prefix"):], want)
		}
	}
}

// TestEventJSONMatchesEncodingJSON: the hand-shaped encoding of audit
// events is encoding/json's, for empty and full events, escapes, invalid
// UTF-8 and times outside JSON's range.
func TestEventJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 3, 4, 5, 6, 789000000, time.UTC)
	odd := "a\"b\\c\n\r\t\b\f\x00\x1f<>&\u2028\u2029é😀\xff\xfe end"
	for _, e := range []apps.Event{
		{},
		{Time: at, Action: "fhir.read", Outcome: "success"},
		{Time: at.In(time.FixedZone("x", -5*3600)), Action: "fhir.search", Outcome: "success", Member: "alice", Patient: "alice-1001",
			ClientID: "app-1", ResourceTypes: []string{"ExplanationOfBenefit", "Coverage"}, Count: 21, Reason: "sensitive resources withheld: 1",
			RequestID: "abc", Actor: "admin:jane", ClientIP: "192.0.2.1"},
		{Time: at, Action: odd, Outcome: odd, Member: odd, Patient: odd, ClientID: odd, ResourceTypes: []string{odd, ""},
			Count: -3, Reason: odd, RequestID: odd, Actor: odd, ClientIP: odd},
		{Time: at, ResourceTypes: []string{}},
		{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		wantStdJSON(t, e)
	}
}

// FuzzEventJSON: any text in any field encodes as encoding/json would.
func FuzzEventJSON(f *testing.F) {
	f.Add("fhir.read", "alice\x00", "<script>", int64(0), 3)
	f.Fuzz(func(t *testing.T, action, member, reason string, nanos int64, count int) {
		wantStdJSON(t, apps.Event{Time: time.Unix(0, nanos).UTC(), Action: action, Outcome: reason, Member: member,
			ResourceTypes: []string{reason}, Count: count, Reason: reason, ClientIP: action})
	})
}
