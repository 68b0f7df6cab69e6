package admin

import (
	"encoding/csv"
	"io"
	"strings"
	"time"

	"github.com/patientaccess/gateway/apps"
)

// csvHeader names the columns of the registry export.
var csvHeader = []string{"client_id", "name", "developer", "contact_email", "contact_phone", "client_type", "status",
	"status_reason", "attestation", "attestation_stale", "redirect_uris", "scopes", "privacy_policy_url", "terms_url",
	"website_url", "registered_by", "created_at", "updated_at"}

// WriteCSV writes the apps as CSV (RFC 4180), one row per app after a
// header row. A cell that a spreadsheet would run as a formula (starting
// with = + - @, tab or carriage return) is prefixed with a quote.
func WriteCSV(w io.Writer, list []apps.App) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, a := range list {
		row := []string{a.ClientID, a.Name, a.Developer, a.ContactEmail, a.ContactPhone, string(a.ClientType()), string(a.Status),
			a.StatusReason, string(a.Attestation.Status()), boolString(a.Attestation.Stale()), strings.Join(a.RedirectURIs, " "),
			strings.Join(a.Scopes, " "), a.PrivacyPolicyURL, a.TermsURL, a.WebsiteURL, a.RegisteredBy.String(),
			a.CreatedAt.UTC().Format(time.RFC3339), a.UpdatedAt.UTC().Format(time.RFC3339)}
		for i, c := range row[1:] { // the client id is the gateway's own
			row[i+1] = safeCell(c)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func boolString(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// safeCell defuses a cell a spreadsheet would read as a formula (OWASP CSV
// injection).
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
