package admin_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/admin"
)

// TestRegistryFilterAndExport: the registry is filtered by status,
// attestation, text and failed checks, and exported as CSV with formula
// cells defused; the catalog and the decision report are served.
func TestRegistryFilterAndExport(t *testing.T) {
	srv := newServer(t, testToken, nil)
	auth := "Bearer " + testToken
	register := func(body string) string {
		t.Helper()
		got := call(t, srv, "POST", "/admin/apps", auth, body)
		var r admin.RegisterResponse
		if got.status != http.StatusCreated || json.Unmarshal([]byte(got.body), &r) != nil {
			t.Fatalf("register: %d %s", got.status, got.body)
		}
		return r.ClientID
	}
	good := register(`{"name":"Wallet","developer":"Wallet Inc.","contact_email":"sec@wallet.example","redirect_uris":["https://wallet.example/cb"],
		"scope":"openid patient/*.rs","attestation":{"answers":{"public_policy":true,"states_uses":true,"express_consent":true,"device_data":true,"end_access":true},"by":"Dana"}}`)
	evil := register(`{"name":"=HYPERLINK(\"https://evil.example\")","redirect_uris":["https://evil.example/cb"]}`)
	if got := call(t, srv, "POST", "/admin/apps/"+good+"/approve", auth, ""); got.status != http.StatusOK {
		t.Fatalf("approve: %d %s", got.status, got.body)
	}
	if got := call(t, srv, "POST", "/admin/apps/"+evil+"/deny", auth, `{"criteria":["impersonation"],"evidence":"formula name"}`); got.status != http.StatusOK {
		t.Fatalf("deny: %d %s", got.status, got.body)
	}
	ids := func(query string) string {
		t.Helper()
		got := call(t, srv, "GET", "/admin/apps"+query, auth, "")
		var l struct{ Apps []admin.AppView }
		if got.status != http.StatusOK || json.Unmarshal([]byte(got.body), &l) != nil {
			t.Fatalf("list%s: %d %s", query, got.status, got.body)
		}
		var out []string
		for _, a := range l.Apps {
			out = append(out, a.ClientID)
		}
		return strings.Join(out, ",")
	}
	for query, want := range map[string]string{
		"": good + "," + evil, "?status=approved": good, "?status=denied": evil, "?attestation=attested": good,
		"?attestation=none": evil, "?q=WALLET.EXAMPLE": good, "?failed=1": evil, "?status=pending": "",
	} {
		if got := ids(query); got != want {
			t.Errorf("list%s = %s, want %s", query, got, want)
		}
	}
	for _, bad := range []string{"?status=banned", "?attestation=maybe", "?format=xml"} {
		if got := call(t, srv, "GET", "/admin/apps"+bad, auth, ""); got.status != http.StatusBadRequest {
			t.Errorf("list%s: %d", bad, got.status)
		}
	}

	got := call(t, srv, "GET", "/admin/apps?format=csv", auth, "")
	if got.status != http.StatusOK || !strings.HasPrefix(got.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %v", got.status, got.header)
	}
	rows, err := csv.NewReader(strings.NewReader(got.body)).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "client_id" || rows[1][0] != good || rows[2][0] != evil {
		t.Fatalf("csv rows %q (%v)", rows, err)
	}
	if name := rows[2][1]; !strings.HasPrefix(name, "'=") {
		t.Errorf("a formula name is exported as %q, not defused", name)
	}
	if rows[1][6] != "approved" || rows[1][8] != "attested" || rows[2][6] != "denied" {
		t.Errorf("csv status/attestation columns: %q %q", rows[1], rows[2])
	}

	got = call(t, srv, "GET", "/admin/criteria", auth, "")
	var cat admin.CriteriaView
	if got.status != http.StatusOK || json.Unmarshal([]byte(got.body), &cat) != nil || cat.Version != apps.CriteriaVersion ||
		len(cat.Criteria) != len(apps.Criteria()) || len(cat.Questions) != 5 {
		t.Fatalf("criteria: %d %s", got.status, got.body)
	}
	got = call(t, srv, "GET", "/admin/report", auth, "")
	var rep admin.ReportView
	if got.status != http.StatusOK || json.Unmarshal([]byte(got.body), &rep) != nil || len(rep.Decisions) != 2 ||
		rep.Decisions[0].ClientID != good || rep.Decisions[1].Action != apps.ActionDeny || rep.Decisions[1].Actor != apps.TokenActor {
		t.Fatalf("report: %d %s", got.status, got.body)
	}
	if got := call(t, srv, "GET", "/admin/report?version=1999-01.1", auth, ""); !strings.Contains(got.body, `"decisions":[]`) && !strings.Contains(got.body, `"decisions": []`) {
		t.Errorf("report of another version: %s", got.body)
	}
	if got := call(t, srv, "POST", "/admin/apps/"+evil+"/checks", auth, ""); got.status != http.StatusOK || !strings.Contains(got.body, `"fail"`) {
		t.Errorf("run checks: %d %s", got.status, got.body)
	}
	if got := call(t, srv, "GET", "/admin/apps/"+evil+"/history", auth, ""); got.status != http.StatusOK || strings.Count(got.body, `"action"`) != 2 {
		t.Errorf("history: %d %s", got.status, got.body)
	}
	if got := call(t, srv, "GET", "/admin/apps/"+good, auth, ""); got.status != http.StatusOK || strings.Contains(got.body, "policy_watch") {
		t.Errorf("detail of an unwatched app: %d %s", got.status, got.body)
	}
	if got := call(t, srv, "GET", "/admin/apps/nope/history", auth, ""); got.status != http.StatusNotFound {
		t.Errorf("history of an unknown app: %d", got.status)
	}
}
