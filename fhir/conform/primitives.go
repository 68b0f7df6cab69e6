package conform

import (
	"encoding/json"
	"regexp"
	"strings"
)

// primitiveFormats are the FHIR R4 primitive types' regular expressions
// (datatypes.html), anchored. Types not listed need a non-empty string.
var primitiveFormats = map[string]*regexp.Regexp{
	"date":         regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`),
	"dateTime":     regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`),
	"instant":      regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`),
	"time":         regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$`),
	"id":           regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`),
	"code":         regexp.MustCompile(`^[^\s]+( [^\s]+)*$`),
	"oid":          regexp.MustCompile(`^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$`),
	"uri":          regexp.MustCompile(`^\S*$`),
	"url":          regexp.MustCompile(`^\S*$`),
	"canonical":    regexp.MustCompile(`^\S*$`),
	"base64Binary": regexp.MustCompile(`^(\s*([0-9a-zA-Z\+/=]){4}\s*)+$`),
}

var numericKinds = map[string]func(json.Number) bool{
	"integer": func(n json.Number) bool {
		i, err := n.Int64()
		return err == nil && i >= -2147483648 && i <= 2147483647
	},
	"unsignedInt": func(n json.Number) bool { i, err := n.Int64(); return err == nil && i >= 0 && i <= 2147483647 },
	"positiveInt": func(n json.Number) bool { i, err := n.Int64(); return err == nil && i >= 1 && i <= 2147483647 },
	"decimal":     func(n json.Number) bool { _, err := n.Float64(); return err == nil },
}

// isPrimitive reports whether a type code is a FHIR primitive type.
func isPrimitive(code string) bool {
	if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
		return true
	}
	switch code {
	case "boolean", "string", "markdown", "xhtml", "uuid":
		return true
	}
	_, re := primitiveFormats[code]
	_, num := numericKinds[code]
	return re || num
}

// primitive checks a primitive value's JSON type and format.
func (c *checker) primitive(val value) {
	switch {
	case val.typ == "boolean":
		if _, ok := val.v.(bool); !ok {
			c.fail(val.path, "must be true or false")
		}
	case numericKinds[val.typ] != nil:
		n, ok := val.v.(json.Number)
		if !ok || !numericKinds[val.typ](n) {
			c.fail(val.path, "%s is not a valid %s", compact(val.v), val.typ)
		}
	default:
		s, ok := val.v.(string)
		switch {
		case !ok:
			c.fail(val.path, "must be a JSON string (%s)", val.typ)
		case strings.TrimSpace(s) == "" && val.typ != "xhtml":
			c.fail(val.path, "is empty: leave the element out instead")
		case primitiveFormats[val.typ] != nil && !primitiveFormats[val.typ].MatchString(s):
			c.fail(val.path, "%q is not a valid %s", s, val.typ)
		}
	}
}
