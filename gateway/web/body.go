package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// BodyRule is what a group of routes accepts as a request body.
type BodyRule struct {
	// MaxBytes is the largest body accepted; 0 or less applies no limit.
	MaxBytes int64
	// FormOnly accepts only application/x-www-form-urlencoded bodies: the
	// routes whose forms are urlencoded by spec (RFC 6749 §3.2, §4.1.3;
	// RFC 7009 §2.1; RFC 7662 §2.1; the gateway's own HTML forms). Any
	// other body, multipart/form-data included, is refused with 415
	// before anything parses it.
	FormOnly bool
	// Refuse answers a refused body with status, in the routes' own error
	// format. Required when MaxBytes > 0.
	Refuse func(w http.ResponseWriter, r *http.Request, status int, description string)
}

// The descriptions a refusal carries.
const (
	tooLargeDescription = "The request body is larger than %d KiB."
	notFormDescription  = "The request body must be application/x-www-form-urlencoded."
	unreadDescription   = "The request body could not be read."
)

// LimitBodies applies to each request the rule rules picks for it, before
// the handler reads any of the body, so a hostile body costs at most
// MaxBytes of memory and no temporary file:
//
//   - a body of the wrong media type (FormOnly) is refused with 415, unread;
//   - an announced Content-Length over MaxBytes is refused with 413, unread;
//   - a chunked body (no announced length) is read up to MaxBytes+1 into
//     memory and refused with 413 if it is longer;
//   - otherwise the handler reads it through http.MaxBytesReader.
//
// After the handler it removes the temporary files of any multipart form
// the handler parsed: LimitBodies sits next to the router, so it holds the
// very request handlers parse, while net/http cleans up only the request
// it created, not the copies middleware hands on.
func LimitBodies(next http.Handler, rules func(*http.Request) BodyRule) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer removeMultipartFiles(r)
		rule := rules(r)
		if rule.MaxBytes <= 0 || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if status, msg := admit(w, r, rule); status != 0 {
			w.Header().Set("Connection", "close") // do not read on to find the next request
			rule.Refuse(w, r, status, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// admit applies rule to r's body, replacing it with a bounded one. It
// returns the refusal's status and description, or 0.
func admit(w http.ResponseWriter, r *http.Request, rule BodyRule) (int, string) {
	tooLarge := fmt.Sprintf(tooLargeDescription, rule.MaxBytes>>10)
	if rule.FormOnly && !isForm(r.Header.Get("Content-Type")) {
		return http.StatusUnsupportedMediaType, notFormDescription
	}
	if r.ContentLength > rule.MaxBytes {
		return http.StatusRequestEntityTooLarge, tooLarge
	}
	if r.ContentLength > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, rule.MaxBytes)
		return 0, ""
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, rule.MaxBytes+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || int64(len(buf)) > rule.MaxBytes:
		return http.StatusRequestEntityTooLarge, tooLarge
	case err != nil:
		return http.StatusBadRequest, unreadDescription
	}
	r.Body = io.NopCloser(bytes.NewReader(buf))
	r.ContentLength = int64(len(buf))
	return 0, ""
}

// isForm reports an application/x-www-form-urlencoded media type (any
// parameters, such as charset, allowed).
func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

func removeMultipartFiles(r *http.Request) {
	if r.MultipartForm != nil {
		_ = r.MultipartForm.RemoveAll()
	}
}
