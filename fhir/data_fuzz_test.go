package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"testing/fstest"
)

// FuzzReadData feeds arbitrary bytes to the reader as a .json file and as
// an .ndjson file: it must never panic; it either returns a Dataset that
// loads whole, every resource of which Add accepts again, or a *DataError
// whose every problem names the file and a line the file has.
func FuzzReadData(f *testing.F) {
	for _, seed := range []string{
		bundleJSON("collection", patientJSON("p1"), eobJSON("e1", "p1", updated)),
		bundleJSON("transaction", patientJSON("p1"), `{"resourceType":"Patient","id":"p2"}`),
		`{"entry":[{"resource":` + orgJSON("o") + `}],"resourceType":"Bundle"}`,
		`{"resourceType":"Bundle","entry":[7,null,{"resource":null},{"resource":[]}]}`,
		`{"resourceType":"Bundle","entry":{}} trailing`,
		ndjson(patientJSON("p1"), "", orgJSON("o1"), patientJSON("p1")),
		"\xef\xbb\xbf" + patientJSON("p1") + "\r\n{",
		patientJSON("p1"),
		"[1]",
		"",
		`{"resourceType":7}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := 1 + bytes.Count(data, []byte("\n"))
		for _, name := range []string{"f.json", "f.ndjson"} {
			src := DataSource{Name: "fuzz", FS: fstest.MapFS{name: {Data: data}}}
			d, err := DataReader{MaxLine: 4096, MaxFile: 1 << 16}.Read(src)
			if err != nil {
				checkDataError(t, err, d, "fuzz/"+name, lines)
				continue
			}
			s := NewMemorySource()
			if err := s.Load(d); err != nil || len(s.byKey) != d.Summary.Resources {
				t.Fatalf("%s: Load = %v with %d of %d resources", name, err, len(s.byKey), d.Summary.Resources)
			}
			for key, r := range s.byKey {
				if !json.Valid(r.raw) || NewMemorySource().Add(r.raw) != nil {
					t.Fatalf("%s: stored %s is not a resource Add accepts: %s", name, key, r.raw)
				}
			}
		}
	})
}

func checkDataError(t *testing.T, err error, d *Dataset, file string, lines int) {
	t.Helper()
	var de *DataError
	if !errors.As(err, &de) || d != nil || de.Total < 1 || len(de.Problems) != min(de.Total, MaxProblems) {
		t.Fatalf("%s: Read = %v, %v", file, d, err)
	}
	for _, p := range de.Problems {
		if p.File != file || p.Line < 0 || p.Line > lines || p.Msg == "" {
			t.Fatalf("%s: problem %+v is not in the file's %d lines", file, p, lines)
		}
	}
}
