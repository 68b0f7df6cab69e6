package redis

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/patientaccess/gateway/apps"
	"github.com/patientaccess/gateway/internal/jsonappend"
)

// eventBuffers are the buffers events are encoded into for one append;
// they go back once the pipeline that sent them has returned.
var eventBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

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
	b = jsonappend.String(b, e.Action)
	b = append(b, `,"outcome":`...)
	b = jsonappend.String(b, e.Outcome)
	b = jsonappend.Field(b, "member", e.Member)
	b = jsonappend.Field(b, "patient", e.Patient)
	b = jsonappend.Field(b, "client_id", e.ClientID)
	if len(e.ResourceTypes) > 0 {
		b = append(b, `,"resource_types":[`...)
		for i, t := range e.ResourceTypes {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonappend.String(b, t)
		}
		b = append(b, ']')
	}
	if e.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(e.Count), 10)
	}
	b = jsonappend.Field(b, "reason", e.Reason)
	b = jsonappend.Field(b, "request_id", e.RequestID)
	b = jsonappend.Field(b, "actor", e.Actor)
	if withIP {
		b = jsonappend.Field(b, "client_ip", e.ClientIP)
	}
	return append(b, '}'), nil
}
