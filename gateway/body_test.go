package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
)

// bodyEndpoint is an endpoint that reads a request body, and the error
// format it answers in: "oauth" (RFC 6749 JSON), "admin" (the admin API's
// JSON) or "page" (the readable HTML error page).
type bodyEndpoint struct {
	name, path, format string
	form               bool // the body is an urlencoded form by spec
}

var bodyEndpoints = []bodyEndpoint{
	{"token", "/oauth/token", "oauth", true},
	{"revocation", "/oauth/revoke", "oauth", true},
	{"introspection", "/oauth/introspect", "oauth", true},
	{"login", "/login", "page", true},
	{"consent", "/oauth/authorize?client_id=demo-app&response_type=code", "page", true},
	{"logout", "/logout", "page", true},
	{"account revoke", "/account/apps/demo-app/revoke", "page", true},
	{"demo app", "/demo/start", "page", true},
	{"admin", "/admin/apps", "admin", false},
}

// postBody posts body to path; chunked hides its length from the server.
func (h *harness) postBody(path, contentType string, body []byte, chunked bool) (int, http.Header, string) {
	h.t.Helper()
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // no known length: sent chunked
	}
	req, _ := http.NewRequest("POST", h.base+path, rd)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

// checkBodyRefusal fails unless the answer is status in the endpoint's format.
func checkBodyRefusal(t *testing.T, e bodyEndpoint, status, wantStatus int, hdr http.Header, body string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d, want %d\n%.300s", e.name, status, wantStatus, body)
	}
	switch e.format {
	case "oauth", "admin":
		var got map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil || got["error"] != "invalid_request" || got["error_description"] == "" {
			t.Fatalf("%s: want an invalid_request JSON error, got %q", e.name, body)
		}
	case "page":
		if !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, "<h1>") {
			t.Fatalf("%s: want the HTML error page, got %s %q", e.name, hdr.Get("Content-Type"), body)
		}
	}
}

// TestLargeBodiesRefused: every endpoint that reads a body refuses one
// over 64 KiB with 413 in its own error format, whether the length is
// announced or the body is chunked.
func TestLargeBodiesRefused(t *testing.T) {
	h := newHarness(t, memoryStore)
	big := []byte("a=" + strings.Repeat("x", 1<<20))
	for _, e := range bodyEndpoints {
		ct := "application/x-www-form-urlencoded"
		if !e.form {
			ct = "application/json"
		}
		for _, chunked := range []bool{false, true} {
			status, hdr, body := h.postBody(e.path, ct, big, chunked)
			checkBodyRefusal(t, e, status, http.StatusRequestEntityTooLarge, hdr, body)
		}
	}
	// Just under the limit is read as usual (here: a token request
	// without a client, refused as such).
	status, _, body := h.postBody("/oauth/token", "application/x-www-form-urlencoded",
		[]byte("grant_type=refresh_token&refresh_token=x&pad="+strings.Repeat("x", 60<<10)), false)
	if status == http.StatusRequestEntityTooLarge {
		t.Fatalf("a body under the limit was refused: %d %s", status, body)
	}
}

// multipartBody is a multipart form with one field and a file of n bytes.
func multipartBody(n int) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("grant_type", "refresh_token")
	fw, _ := mw.CreateFormFile("upload", "big.bin")
	_, _ = fw.Write(bytes.Repeat([]byte{'x'}, n))
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// TestMultipartRefused: where a form is urlencoded by spec (the OAuth
// endpoints by RFC 6749, login, consent and the other pages' forms), a
// multipart body is refused with 415 in the endpoint's error format,
// before anything parses it.
func TestMultipartRefused(t *testing.T) {
	h := newHarness(t, memoryStore)
	body, ct := multipartBody(1 << 10)
	for _, e := range bodyEndpoints {
		if !e.form {
			continue
		}
		status, hdr, got := h.postBody(e.path, ct, body, false)
		checkBodyRefusal(t, e, status, http.StatusUnsupportedMediaType, hdr, got)
	}
}

// TestMultipartLeavesNoTempFiles: a multipart upload larger than what
// the form parsers keep in memory leaves no temporary file behind.
func TestMultipartLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	h := newHarness(t, memoryStore)
	body, ct := multipartBody(2 << 20)
	for _, e := range bodyEndpoints {
		if status, _, _ := h.postBody(e.path, ct, body, false); status < 400 {
			t.Errorf("%s accepted a 2 MiB multipart upload: %d", e.name, status)
		}
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range left {
		t.Errorf("temporary file left behind: %s", f.Name())
	}
}
