package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// jsonFile reads a .json file: a Bundle, whose entries' resources are
// loaded whatever its type (collection, transaction, searchset, batch…),
// or else one resource. The file is streamed once: a Bundle's entries are
// decoded one by one as they come (resourceType comes first in the files
// servers and Synthea write; when it comes after entry, the file is read a
// second time).
func (l *loading) jsonFile(idx int, data []byte) {
	data = bytes.TrimPrefix(data, utf8BOM)
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		l.notJSON(idx, data)
		return
	}
	for skipped := false; dec.More(); skipped = true {
		key, err := dec.Token()
		if err != nil {
			l.notJSON(idx, data)
			return
		}
		if key != "resourceType" {
			if err := dec.Decode(&json.RawMessage{}); err != nil {
				l.notJSON(idx, data)
				return
			}
			continue
		}
		var typ string
		if err := dec.Decode(&typ); err != nil {
			l.notJSON(idx, data)
			return
		}
		if typ != "Bundle" {
			break
		}
		if skipped { // entries may have gone by: start again
			dec = json.NewDecoder(bytes.NewReader(data))
			_, _ = dec.Token()
		}
		l.bundle(idx, data, dec)
		return
	}
	l.add(idx, 0, -1, data)
}

// notJSON records why data is not a JSON object, and where.
func (l *loading) notJSON(idx int, data []byte) {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	err := json.Unmarshal(data, &head)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		l.lineProblem(idx, lineOf(data, syntax.Offset), -1, "not JSON: "+syntax.Error())
	case errors.As(err, &typ) && typ.Field == "":
		l.lineProblem(idx, lineOf(data, typ.Offset), -1, "not a JSON object")
	case errors.As(err, &typ):
		l.lineProblem(idx, lineOf(data, typ.Offset), -1, typ.Field+" is not a string")
	case err != nil:
		l.fileProblem(idx, "not JSON: "+err.Error())
	default: // the decoder and Unmarshal disagree: say so rather than guess
		l.fileProblem(idx, "not a JSON object this reader understands")
	}
}

// lineOf is the 1-based line of the byte at offset.
func lineOf(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

// bundle loads the resource of every entry of a Bundle, naming each
// problem with the entry's index and the line it starts on. dec stands
// inside the Bundle's top-level object.
func (l *loading) bundle(idx int, data []byte, dec *json.Decoder) {
	lines := lineCounter{data: data}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			l.notJSON(idx, data)
			return
		}
		if key != "entry" {
			if err := dec.Decode(&json.RawMessage{}); err != nil {
				l.notJSON(idx, data)
				return
			}
			continue
		}
		if !l.entries(idx, data, dec, &lines) {
			return
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		l.notJSON(idx, data)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		l.lineProblem(idx, lines.at(dec.InputOffset()), -1, "not JSON: data after the Bundle")
	}
}

// entries reads Bundle.entry, reporting false when the file cannot be read
// further.
func (l *loading) entries(idx int, data []byte, dec *json.Decoder, lines *lineCounter) bool {
	line := lines.at(dec.InputOffset())
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		l.lineProblem(idx, line, -1, "Bundle.entry is not an array")
		return false
	}
	for i := 0; dec.More(); i++ {
		line = lines.at(valueStart(data, dec.InputOffset()))
		var entry struct {
			Resource json.RawMessage `json:"resource"`
		}
		err := dec.Decode(&entry)
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ):
			l.lineProblem(idx, line, i, "entry is not an object with a resource")
		case err != nil:
			l.notJSON(idx, data)
			return false
		case len(entry.Resource) == 0 || string(entry.Resource) == "null":
			l.lineProblem(idx, line, i, "entry has no resource")
		default:
			l.add(idx, line, i, entry.Resource)
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		l.notJSON(idx, data)
		return false
	}
	return true
}

// valueStart is where the next array element begins: past the comma and
// blanks the decoder stands before.
func valueStart(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ',', ' ', '\t', '\r', '\n':
			off++
		default:
			return off
		}
	}
	return off
}

// lineCounter turns increasing byte offsets into line numbers in one pass.
type lineCounter struct {
	data []byte
	pos  int64 // offset counted up to
	line int   // newlines before pos
}

func (c *lineCounter) at(offset int64) int {
	offset = min(max(offset, c.pos), int64(len(c.data)))
	c.line += bytes.Count(c.data[c.pos:offset], []byte("\n"))
	c.pos = offset
	return c.line + 1
}
