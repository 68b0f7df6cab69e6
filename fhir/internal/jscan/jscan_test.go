package jscan

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// valid reads data as one value with the Scanner.
func valid(data []byte) bool {
	s := New(data)
	if err := s.Skip(); err != nil {
		return false
	}
	return s.End() == nil
}

var samples = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `-12.0E-1`, `true`, `false`, `null`, ` {"a" : [1, 2, {"b":null}] } `,
	`{"a":"\u00e9\n\"\\\/"}`, `"\ud800"`, "\"\xff\"", `[1,]`, `[,1]`, `{"a":1,}`, `{"a" 1}`, `{"a":1 "b":2}`, `[1 2]`,
	`01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`, `nul`, `"a`, "\"\x01\"", `"\x"`, `"\u12"`, `{"a":}`, `{a:1}`, `[`, `{`,
	`1 2`, ``, ` `, `{"a":{"b":[true,false,null]}}`, `[[[[]]]]`, `"\u0041"`, `{"":""}`, `{"a":1}x`, "\t[\r\n]\n",
}

func TestValidAsEncodingJSON(t *testing.T) {
	for _, in := range samples {
		if got, want := valid([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("%q: valid %v, encoding/json %v", in, got, want)
		}
	}
	deep := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	for _, n := range []int{maxDepth, maxDepth + 1} {
		if got, want := valid(deep(n)), json.Valid(deep(n)); got != want {
			t.Errorf("nesting %d: valid %v, encoding/json %v", n, got, want)
		}
	}
}

func FuzzValidAsEncodingJSON(f *testing.F) {
	for _, in := range samples {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := valid(data), json.Valid(data); got != want {
			t.Fatalf("%q: valid %v, encoding/json %v", data, got, want)
		}
		// Every member key and string is decoded as encoding/json decodes it.
		if !json.Valid(data) {
			return
		}
		var want any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		s := New(data)
		got, err := decodeAny(&s)
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Fatalf("%q: decoded %s, encoding/json %s", data, gj, wj)
		}
	})
}

// decodeAny decodes a value with the Scanner's own methods, numbers as
// their text, for comparison with encoding/json.
func decodeAny(s *Scanner) (any, error) {
	switch s.Peek() {
	case '{':
		if err := s.Object(); err != nil {
			return nil, err
		}
		m := map[string]any{}
		for i := 0; ; i++ {
			k, more, err := s.Member(i)
			if err != nil || !more {
				return m, err
			}
			key := string(k)
			if m[key], err = decodeAny(s); err != nil {
				return nil, err
			}
		}
	case '[':
		if err := s.Array(); err != nil {
			return nil, err
		}
		l := []any{}
		for i := 0; ; i++ {
			more, err := s.Element(i)
			if err != nil || !more {
				return l, err
			}
			v, err := decodeAny(s)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
	case '"':
		v, _, err := s.String()
		return v, err
	case 'n':
		_, err := s.Null()
		return nil, err
	case 't', 'f':
		raw, err := s.Raw()
		return string(raw) == "true", err
	}
	raw, err := s.Raw()
	return json.Number(raw), err
}

func TestStringAndInt(t *testing.T) {
	s := New([]byte(`{"s":"a\u00e9\/b","n":null,"i":-42,"f":1.5,"big":99999999999999999999,"o":{"x":[1]},"str":"x"}`))
	if err := s.Object(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"s": "aé/b|true|<nil>", "n": "|false|<nil>", "i": "-42|true", "f": "0|false|unexpected JSON type",
		"big": "0|false|unexpected JSON type", "o": "|false|unexpected JSON type", "str": "0|false|unexpected JSON type"}
	for i := 0; ; i++ {
		k, more, err := s.Member(i)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
		key := string(k)
		var got string
		switch key {
		case "s", "n", "o":
			v, ok, err := s.String()
			got = v + "|" + fmtBool(ok) + "|" + fmtErr(err)
		case "i":
			v, ok, _ := s.Int()
			got = itoa(v) + "|" + fmtBool(ok)
		default:
			v, ok, err := s.Int()
			got = itoa(v) + "|" + fmtBool(ok) + "|" + fmtErr(err)
		}
		if got != want[key] {
			t.Errorf("%s: %s, want %s", key, got, want[key])
		}
	}
	if err := s.End(); err != nil {
		t.Fatal(err)
	}
}

func fmtBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// BenchmarkSkip reads the demo claims, compacted as a Source keeps them,
// against encoding/json's check of the same bytes.
func BenchmarkSkip(b *testing.B) {
	files, _ := filepath.Glob("../../demo/*eob*.json")
	var page bytes.Buffer
	page.WriteByte('[')
	for i, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		if i > 0 {
			page.WriteByte(',')
		}
		if err := json.Compact(&page, raw); err != nil {
			b.Fatal(err)
		}
	}
	page.WriteByte(']')
	data := page.Bytes()
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !valid(data) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !json.Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
}
