package synth

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// O is a JSON object whose keys keep the order they are written in, so that
// resources read as FHIR writes them (resourceType first) and encode to the
// same bytes every time.
type O []F

// F is one member of an O.
type F struct {
	K string
	V any
}

// MarshalJSON writes the members in order, leaving out nil values.
func (o O) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, f := range o {
		if f.V == nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.Quote(f.K))
		b.WriteByte(':')
		v, err := marshal(f.V)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// A is a JSON array.
type A []any

// Money is an amount in US cents, written as dollars with two decimals.
type Money int64

// MarshalJSON writes {"value":12.34,"currency":"USD"}.
func (m Money) MarshalJSON() ([]byte, error) {
	s := strconv.FormatInt(int64(m)/100, 10) + "." + pad2(int64(m)%100)
	return []byte(`{"value":` + s + `,"currency":"USD"}`), nil
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

func coding(system, code, display string) O {
	o := O{{"system", system}, {"code", code}}
	if display != "" {
		o = append(o, F{"display", display})
	}
	return o
}

// cc is a CodeableConcept of one coding.
func cc(system, code, display string) O { return O{{"coding", A{coding(system, code, display)}}} }

func ref(typ, id, display string) O {
	o := O{{"reference", typ + "/" + id}}
	if display != "" {
		o = append(o, F{"display", display})
	}
	return o
}

// marshal encodes v as compact JSON without HTML escaping, so that a
// narrative's "<div>" stays readable.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
