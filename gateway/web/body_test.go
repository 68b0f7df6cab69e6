package web

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// refusal records what LimitBodies refused with.
type refusal struct{ status int }

func (f *refusal) refuse(w http.ResponseWriter, _ *http.Request, status int, _ string) {
	f.status = status
	w.WriteHeader(status)
}

func TestLimitBodies(t *testing.T) {
	const max = 1 << 10
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name        string
		rule        BodyRule
		contentType string
		size        int
		chunked     bool
		wantStatus  int // 0: the handler ran and read the whole body
	}{
		{"under the limit", BodyRule{MaxBytes: max}, form, max, false, 0},
		{"over the limit, announced", BodyRule{MaxBytes: max}, form, max + 1, false, 413},
		{"under the limit, chunked", BodyRule{MaxBytes: max}, form, max, true, 0},
		{"over the limit, chunked", BodyRule{MaxBytes: max}, form, 10 * max, true, 413},
		{"form with a charset", BodyRule{MaxBytes: max, FormOnly: true}, form + "; charset=UTF-8", 10, false, 0},
		{"multipart where a form is due", BodyRule{MaxBytes: max, FormOnly: true}, "multipart/form-data; boundary=x", 10, false, 415},
		{"JSON where a form is due", BodyRule{MaxBytes: max, FormOnly: true}, "application/json", 10, false, 415},
		{"no content type where a form is due", BodyRule{MaxBytes: max, FormOnly: true}, "", 10, false, 415},
		{"media type checked before length", BodyRule{MaxBytes: max, FormOnly: true}, "multipart/form-data; boundary=x", 10 * max, false, 415},
		{"JSON where anything goes", BodyRule{MaxBytes: max}, "application/json", 10, false, 0},
		{"no rule", BodyRule{}, "application/json", 10 * max, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rd io.Reader = strings.NewReader(strings.Repeat("a", tc.size))
			if tc.chunked {
				rd = io.MultiReader(rd)
			}
			r := httptest.NewRequest("POST", "/form", rd)
			if tc.chunked {
				r.ContentLength = -1
			}
			r.Header.Set("Content-Type", tc.contentType)
			f := &refusal{}
			tc.rule.Refuse = f.refuse
			read := -1
			h := LimitBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("handler read: %v", err)
				}
				read = len(b)
			}), func(*http.Request) BodyRule { return tc.rule })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if f.status != tc.wantStatus {
				t.Fatalf("refused with %d, want %d", f.status, tc.wantStatus)
			}
			if tc.wantStatus == 0 && read != tc.size {
				t.Fatalf("the handler read %d bytes, want %d", read, tc.size)
			}
			if tc.wantStatus != 0 && (read != -1 || rec.Header().Get("Connection") != "close") {
				t.Fatalf("refused, yet the handler ran (%d) or the connection stays open (%q)", read, rec.Header().Get("Connection"))
			}
		})
	}
}

// TestLimitBodiesRemovesMultipartFiles: where a handler does parse a
// multipart form, the temporary files it spilled to disk are removed
// once it is done, though net/http never sees that request.
func TestLimitBodiesRemovesMultipartFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("f", "f.bin")
	_, _ = fw.Write(bytes.Repeat([]byte{'x'}, 8<<10))
	_ = mw.Close()
	r := httptest.NewRequest("POST", "/upload", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	spilled := 0
	h := LimitBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(1); err != nil { // keep nothing in memory
			t.Errorf("parse: %v", err)
		}
		files, _ := os.ReadDir(dir)
		spilled = len(files)
	}), func(*http.Request) BodyRule { return BodyRule{MaxBytes: 64 << 10, Refuse: (&refusal{}).refuse} })
	h.ServeHTTP(httptest.NewRecorder(), r.WithContext(t.Context()))
	if spilled == 0 {
		t.Fatal("the handler spilled no file; the test proves nothing")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("%d temporary files left behind", len(left))
	}
}
