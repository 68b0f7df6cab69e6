package web

import (
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed error.html
var errorHTML string

// errorTmpl is parsed once; template.Must makes a broken page fail at start-up.
var errorTmpl = template.Must(template.New("error").Parse(errorHTML))

// errorPage is what error.html renders.
type errorPage struct {
	Title, Message, RequestID string
	Status                    int
}

// Error writes the one readable HTML error page with the given status. The
// title and message are escaped; the page is never cached, and it shows
// the request id so a member can quote it to support.
func Error(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(status)
	if r != nil && r.Method == http.MethodHead {
		return
	}
	var id string
	if r != nil {
		id = RequestIDFrom(r.Context())
	}
	_ = errorTmpl.Execute(w, errorPage{Title: title, Message: message, RequestID: id, Status: status})
}
