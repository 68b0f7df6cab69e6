package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// jsonFile reads a .json file: a Bundle, whose entries' resources are
// loaded whatever its type (collection, transaction, searchset, batch…),
// or else one resource.
func (l *loading) jsonFile(idx int, data []byte) {
	data = bytes.TrimPrefix(data, utf8BOM)
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		line, msg := jsonProblem(data, err)
		l.lineProblem(idx, line, -1, msg)
		return
	}
	if head.ResourceType != "Bundle" {
		l.add(idx, 0, -1, data)
		return
	}
	l.bundle(idx, data)
}

// jsonProblem says where and why data, as a whole, is not a JSON object.
func jsonProblem(data []byte, err error) (line int, msg string) {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return lineOf(data, syntax.Offset), "not JSON: " + syntax.Error()
	case errors.As(err, &typ) && typ.Field == "":
		return lineOf(data, typ.Offset), "not a JSON object"
	case errors.As(err, &typ):
		return lineOf(data, typ.Offset), typ.Field + " is not a string"
	}
	return 0, "not JSON: " + err.Error()
}

// lineOf is the 1-based line of the byte at offset.
func lineOf(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

// bundle loads the resource of every entry of a Bundle, naming each
// problem with the entry's index and the line it starts on. data is known
// to be a JSON object.
func (l *loading) bundle(idx int, data []byte) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // '{'
		l.fileProblem(idx, "not JSON: "+err.Error())
		return
	}
	lines := lineCounter{data: data}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			l.fileProblem(idx, "not JSON: "+err.Error())
			return
		}
		if key != "entry" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				l.fileProblem(idx, "not JSON: "+err.Error())
				return
			}
			continue
		}
		if !l.entries(idx, dec, &lines) {
			return
		}
	}
}

// entries reads Bundle.entry, reporting false when it is not an array.
func (l *loading) entries(idx int, dec *json.Decoder, lines *lineCounter) bool {
	line := lines.at(dec.InputOffset())
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		l.lineProblem(idx, line, -1, "Bundle.entry is not an array")
		return false
	}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			l.lineProblem(idx, line, i, "not JSON: "+err.Error())
			return false
		}
		line = lines.at(dec.InputOffset() - int64(len(raw)))
		var entry struct {
			Resource json.RawMessage `json:"resource"`
		}
		if err := json.Unmarshal(raw, &entry); err != nil {
			l.lineProblem(idx, line, i, "entry is not an object with a resource")
			continue
		}
		if len(entry.Resource) == 0 || string(entry.Resource) == "null" {
			l.lineProblem(idx, line, i, "entry has no resource")
			continue
		}
		l.add(idx, line, i, entry.Resource)
	}
	if _, err := dec.Token(); err != nil { // ']'
		l.lineProblem(idx, line, -1, fmt.Sprintf("not JSON: %v", err))
		return false
	}
	return true
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
