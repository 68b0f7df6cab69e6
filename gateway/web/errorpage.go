package web

import (
	"html/template"
	"net/http"
)

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<link rel="stylesheet" href="/oauth/style.css"></head>
<body><header class="bar">Your health plan · Patient Access</header>
<main><h1>{{.Title}}</h1><p class="error" role="alert">{{.Message}}</p></main></body></html>`))

// Error writes the readable HTML error page with the given status.
func Error(w http.ResponseWriter, _ *http.Request, status int, title, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = errorTmpl.Execute(w, struct{ Title, Message string }{title, message})
}
