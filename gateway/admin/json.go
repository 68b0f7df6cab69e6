package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// decode reads one JSON object from the body into v, refusing unknown
// fields, trailing data and bodies over MaxBodyBytes. An empty body is
// accepted only when optional. On failure it has already answered 400.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) && optional {
		return true
	}
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON object")
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request", "the request body is larger than 64 KiB")
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "invalid_request", "a JSON body is required")
	default:
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not valid JSON for this request: "+err.Error())
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, ErrorResponse{Error: code, Description: description})
}

// RefuseRequest answers, in the admin API's JSON error format
// (invalid_request with the given status), a request the gateway refused
// before the admin API read it: a body too large. Its signature is
// gateway/web.BodyRule.Refuse.
func RefuseRequest(w http.ResponseWriter, _ *http.Request, status int, description string) {
	w.Header().Set("Cache-Control", "no-store")
	writeError(w, status, "invalid_request", description)
}
