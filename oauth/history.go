package oauth

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/gateway/ui"
)

// How many accesses the history page shows, and a download holds.
const (
	historyPageRows     = 500
	historyDownloadRows = 10000
)

// access is one time an app got the member's data, as the history page and
// the downloads report it: never the data itself.
type access struct {
	Time          time.Time `json:"time"`
	ResourceTypes []string  `json:"resource_types"`
	Count         int       `json:"count"`
	ClientIP      string    `json:"client_ip,omitempty"`
}

// history is the member's accounting of what one app got, newest first,
// at most limit accesses; more reports that there were more. An app the
// member never connected is apps.ErrNotFound, so nobody learns another
// app's history exists.
func (s *Server) history(ctx context.Context, member, clientID string, limit int) (list []access, more bool, err error) {
	grants, err := s.deps.Apps.ListGrants(ctx, member)
	if err != nil {
		return nil, false, fmt.Errorf("list grants: %w", err)
	}
	if !slices.ContainsFunc(grants, func(g apps.Grant) bool { return g.ClientID == clientID }) {
		return nil, false, apps.ErrNotFound
	}
	// Read a little beyond limit: other events of the app (token, sign-in
	// refusals) are in the same history and are skipped.
	events, err := s.deps.Apps.ListMemberEvents(ctx, member, clientID, 4*limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("member history: %w", err)
	}
	for _, e := range events {
		if !isDisclosure(e) {
			continue
		}
		if len(list) == limit {
			return list, true, nil
		}
		list = append(list, access{Time: e.Time.UTC(), ResourceTypes: e.ResourceTypes, Count: e.Count, ClientIP: e.ClientIP})
	}
	return list, false, nil
}

// loadHistory answers for the three history routes: the signed-in member
// and the app's accesses, or an error page already written.
func (s *Server) loadHistory(w http.ResponseWriter, r *http.Request, limit int) (string, []access, bool, bool) {
	m, ok := s.signedIn(w, r, ui.ProblemHistoryFailed)
	if !ok {
		return "", nil, false, false
	}
	clientID := r.PathValue("client")
	list, more, err := s.history(r.Context(), m.Username, clientID, limit)
	switch {
	case isNotFound(err):
		s.problem(w, r, http.StatusNotFound, ui.ProblemNotConnected)
		return "", nil, false, false
	case err != nil:
		s.failPage(w, r, "access history", err, ui.ProblemHistoryFailed)
		return "", nil, false, false
	}
	return clientID, list, more, true
}

// serveHistory shows an app's access history: when, which kinds of record,
// how many, from which address.
func (s *Server) serveHistory(w http.ResponseWriter, r *http.Request) {
	clientID, list, more, ok := s.loadHistory(w, r, historyPageRows)
	if !ok {
		return
	}
	v := ui.HistoryView{CSRF: s.deps.CSRF.Token(w, r), ClientID: clientID, App: s.appName(r.Context(), clientID), Truncated: more}
	for _, a := range list {
		v.Rows = append(v.Rows, ui.HistoryRow{Time: a.Time, Types: a.ResourceTypes, Count: a.Count, ClientIP: a.ClientIP})
	}
	s.deps.UI.History(w, r, v)
}

// serveHistoryCSV downloads the history as CSV (RFC 4180).
func (s *Server) serveHistoryCSV(w http.ResponseWriter, r *http.Request) {
	clientID, list, _, ok := s.loadHistory(w, r, historyDownloadRows)
	if !ok {
		return
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"time", "app", "client_id", "resource_types", "count", "client_ip"})
	app := csvCell(s.appName(r.Context(), clientID))
	for _, a := range list {
		_ = cw.Write([]string{a.Time.Format(time.RFC3339), app, clientID, strings.Join(a.ResourceTypes, ";"), strconv.Itoa(a.Count), a.ClientIP})
	}
	cw.Flush()
	download(w, "text/csv; charset=utf-8", "access-history-"+clientID+".csv", b.Bytes())
}

// csvCell keeps a spreadsheet from reading a cell an app chose (its name)
// as a formula (OWASP "CSV injection").
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// serveHistoryJSON downloads the history as JSON.
func (s *Server) serveHistoryJSON(w http.ResponseWriter, r *http.Request) {
	clientID, list, _, ok := s.loadHistory(w, r, historyDownloadRows)
	if !ok {
		return
	}
	if list == nil {
		list = []access{}
	}
	body, err := json.MarshalIndent(struct {
		App         string    `json:"app"`
		ClientID    string    `json:"client_id"`
		GeneratedAt time.Time `json:"generated_at"`
		Accesses    []access  `json:"accesses"`
	}{s.appName(r.Context(), clientID), clientID, s.now().UTC(), list}, "", "  ")
	if err != nil {
		s.problem(w, r, http.StatusInternalServerError, ui.ProblemHistoryFailed)
		return
	}
	download(w, "application/json", "access-history-"+clientID+".json", append(body, '\n'))
}

// download sends a file to save, never cached. The file name is the
// client id, which is URL-safe base64 or the demo's fixed id.
func download(w http.ResponseWriter, ctype, name string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="`+strings.Map(safeFileRune, name)+`"`)
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

func safeFileRune(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
		return r
	}
	return '_'
}
