// Package jsonappend appends JSON strings to byte slices byte for byte as
// encoding/json writes them by default, for the hot paths that write a
// known shape without building a value and encoding it (a FHIR call's
// audit event, an introspection's answer).
package jsonappend

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// String appends s as a JSON string, quoted.
func String(b []byte, s string) []byte {
	return append(Chars(append(b, '"'), s), '"')
}

// Field appends ,"name":"value" unless value is empty (omitempty). name is
// written as it is: it must need no escaping.
func Field(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return String(b, value)
}

// Chars appends s's characters as encoding/json escapes them inside a
// string: quote, backslash and control characters escaped (\n, \r, \t, \b
// and \f by name), <, > and & as \u003c, \u003e and \u0026 (HTML-safe),
// U+2028 and U+2029 escaped, invalid UTF-8 replaced by U+FFFD. Runs of
// characters that need no escaping are copied at once.
func Chars(b []byte, s string) []byte {
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
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}
