package redis

import (
	"errors"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/patientaccess/gateway/apps"
)

// eventBuffers are the buffers events are encoded into for one append,
// with their payloads; they go back once the pipeline that sent them has
// returned.
var eventBuffers = sync.Pool{New: func() any { return &encodedEvents{b: make([]byte, 0, 1024)} }}

// errEventTime is the error of a time JSON cannot hold (as encoding/json).
var errEventTime = errors.New("event time year outside of range [0,9999]")

// appendEventJSON appends e as encoding/json encodes an apps.Event, byte
// for byte (TestEventJSONMatchesEncodingJSON), without the ClientIP unless
// withIP. The audit event is written on every FHIR call: this spares the
// reflection and the copies of json.Marshal.
func appendEventJSON(b []byte, e apps.Event, withIP bool) ([]byte, error) {
	if y := e.Time.Year(); y < 0 || y > 9999 {
		return b, errEventTime
	}
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","action":`...)
	b = appendJSONString(b, e.Action)
	b = append(b, `,"outcome":`...)
	b = appendJSONString(b, e.Outcome)
	b = appendJSONField(b, "member", e.Member)
	b = appendJSONField(b, "patient", e.Patient)
	b = appendJSONField(b, "client_id", e.ClientID)
	if len(e.ResourceTypes) > 0 {
		b = append(b, `,"resource_types":[`...)
		for i, t := range e.ResourceTypes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, t)
		}
		b = append(b, ']')
	}
	if e.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(e.Count), 10)
	}
	b = appendJSONField(b, "reason", e.Reason)
	b = appendJSONField(b, "request_id", e.RequestID)
	b = appendJSONField(b, "actor", e.Actor)
	if withIP {
		b = appendJSONField(b, "client_ip", e.ClientIP)
	}
	return append(b, '}'), nil
}

// appendJSONField appends ,"name":"value" unless value is empty (omitempty).
func appendJSONField(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way encoding/json does:
// HTML-sensitive characters, control characters, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
