// Package jscan reads JSON in one pass over its bytes, checking the
// grammar as it goes and decoding only what its caller asks for, so that
// the gateway can check every resource of an upstream's searchset (its
// type, id, owner and labels) without decoding the Bundle and then each
// resource again with encoding/json, which scans each byte several times.
//
// It accepts exactly the texts encoding/json accepts (RFC 8259, bytes of
// any value in strings but control characters, nesting at most 10,000
// deep), and the strings it returns are what encoding/json would decode
// (escapes, and invalid UTF-8 replaced, through encoding/json itself).
package jscan

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// maxDepth is encoding/json's bound on nesting.
const maxDepth = 10000

// SyntaxError is a text that is not JSON: nothing more can be read from
// the Scanner that returned it.
type SyntaxError struct {
	Offset int
	msg    string
}

func (e *SyntaxError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.msg
}

// ErrType is a value of another JSON type than the one asked for; the
// value has been read past, so reading may go on.
var ErrType = errors.New("unexpected JSON type")

// IsSyntax reports whether err is a SyntaxError.
func IsSyntax(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := err.(*SyntaxError); ok {
		return true
	}
	var se *SyntaxError
	return errors.As(err, &se)
}

// Scanner reads one JSON text.
type Scanner struct {
	data  []byte
	pos   int
	depth int
}

// New returns a Scanner at the start of data.
func New(data []byte) Scanner { return Scanner{data: data} }

// Pos is the offset of the next byte to read.
func (s *Scanner) Pos() int { return s.pos }

// Bytes is the text being read.
func (s *Scanner) Bytes() []byte { return s.data }

func (s *Scanner) syntax(msg string) error {
	return &SyntaxError{Offset: s.pos, msg: msg}
}

func (s *Scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// Peek returns the first byte of the next value, after white space, or 0
// at the end of the text.
func (s *Scanner) Peek() byte {
	s.ws()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// End checks that nothing but white space is left.
func (s *Scanner) End() error {
	s.ws()
	if s.pos != len(s.data) {
		return s.syntax("data after the top-level value")
	}
	return nil
}

// Object reads the '{' of an object; Member then reads its members.
func (s *Scanner) Object() error {
	if s.Peek() != '{' {
		return s.syntax("want an object")
	}
	s.pos++
	s.depth++
	if s.depth > maxDepth {
		return s.syntax("exceeded max depth")
	}
	return nil
}

// Member reads the key of the object's i-th member (from 0) and its ':',
// leaving the value to be read; more is false, and the closing '}' read,
// when the object has no more members. The key is decoded; it may share
// the text's bytes and is valid until the Scanner is used again.
func (s *Scanner) Member(i int) (key []byte, more bool, err error) {
	if more, err := s.next(i, '}'); !more || err != nil {
		return nil, false, err
	}
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return nil, false, s.syntax("want an object key")
	}
	key, err = s.str()
	if err != nil {
		return nil, false, err
	}
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return nil, false, s.syntax("want ':' after an object key")
	}
	s.pos++
	return key, true, nil
}

// next reads past the ',' before element or member i > 0, or the closing
// byte; it reports whether an element or member follows.
func (s *Scanner) next(i int, closing byte) (bool, error) {
	s.ws()
	if s.pos >= len(s.data) {
		return false, s.syntax("unexpected end")
	}
	switch c := s.data[s.pos]; {
	case c == closing:
		s.pos++
		s.depth--
		return false, nil
	case i == 0:
		return true, nil
	case c == ',':
		s.pos++
		s.ws()
		return true, nil
	}
	return false, s.syntax("want ',' or the end of an object or array")
}

// Array reads the '[' of an array; Element then reads up to each element.
func (s *Scanner) Array() error {
	if s.Peek() != '[' {
		return s.syntax("want an array")
	}
	s.pos++
	s.depth++
	if s.depth > maxDepth {
		return s.syntax("exceeded max depth")
	}
	return nil
}

// Element reads up to the array's i-th element (from 0), leaving it to be
// read; false, and the closing ']' read, when the array has no more.
func (s *Scanner) Element(i int) (more bool, err error) {
	return s.next(i, ']')
}

// Null reads a null if one is next.
func (s *Scanner) Null() (bool, error) {
	if s.Peek() != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

// Skip reads past the next value. It reads containers in a loop, not by
// recursion: most of a claim's bytes are small values in nested objects.
func (s *Scanner) Skip() error {
	var (
		d     = s.data
		i     = s.pos
		stack = make([]byte, 0, 32) // the closing byte of each open container
		err   error
		c     byte
	)
value:
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	if i >= len(d) {
		s.pos = i
		return s.syntax("unexpected end")
	}
	switch c = d[i]; c {
	case '{', '[':
		if s.depth+len(stack) >= maxDepth {
			s.pos = i
			return s.syntax("exceeded max depth")
		}
		close := byte('}')
		if c == '[' {
			close = ']'
		}
		stack = append(stack, close)
		i++
		for i < len(d) && isSpace(d[i]) {
			i++
		}
		if i < len(d) && d[i] == close {
			i++
			stack = stack[:len(stack)-1]
			goto after
		}
		if c == '[' {
			goto value
		}
		goto key
	case '"':
		s.pos = i
		if _, err = s.skipString(); err != nil {
			return err
		}
		i = s.pos
	case 't', 'f', 'n':
		lit := "null"
		if c == 't' {
			lit = "true"
		} else if c == 'f' {
			lit = "false"
		}
		if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
			s.pos = i
			return s.syntax("invalid literal")
		}
		i += len(lit)
	default:
		s.pos = i
		if _, err = s.number(); err != nil {
			return err
		}
		i = s.pos
	}
after:
	if len(stack) == 0 {
		s.pos = i
		return nil
	}
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	if i >= len(d) {
		s.pos = i
		return s.syntax("unexpected end")
	}
	switch c = d[i]; {
	case c == stack[len(stack)-1]:
		i++
		stack = stack[:len(stack)-1]
		goto after
	case c == ',':
		i++
		if stack[len(stack)-1] == ']' {
			goto value
		}
		for i < len(d) && isSpace(d[i]) {
			i++
		}
	default:
		s.pos = i
		return s.syntax("want ',' or the end of an object or array")
	}
key:
	if i >= len(d) || d[i] != '"' {
		s.pos = i
		return s.syntax("want an object key")
	}
	s.pos = i
	if _, err = s.skipString(); err != nil {
		return err
	}
	i = s.pos
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	if i >= len(d) || d[i] != ':' {
		s.pos = i
		return s.syntax("want ':' after an object key")
	}
	i++
	goto value
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Raw reads past the next value and returns its bytes.
func (s *Scanner) Raw() ([]byte, error) {
	s.ws()
	start := s.pos
	if err := s.Skip(); err != nil {
		return nil, err
	}
	return s.data[start:s.pos:s.pos], nil
}

// String reads a string value, decoded as encoding/json decodes it; a
// null reads as "" with ok false, and any other value is read past and
// reported as ErrType.
func (s *Scanner) String() (v string, ok bool, err error) {
	b, ok, err := s.StringBytes()
	if !ok || err != nil {
		return "", false, err
	}
	return string(b), true, nil
}

// StringBytes is String without the copy: the bytes may share the text's
// and are valid until the Scanner is used again.
func (s *Scanner) StringBytes() (v []byte, ok bool, err error) {
	switch s.Peek() {
	case '"':
		b, err := s.str()
		return b, err == nil, err
	case 'n':
		return nil, false, s.literal("null")
	}
	if err := s.Skip(); err != nil {
		return nil, false, err
	}
	return nil, false, ErrType
}

// Int reads an integer as encoding/json reads one into an int: a null
// reads as ok false, a number with a fraction or exponent, or out of
// range, as ErrType (read past).
func (s *Scanner) Int() (v int, ok bool, err error) {
	switch c := s.Peek(); {
	case c == 'n':
		return 0, false, s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		b, err := s.number()
		if err != nil {
			return 0, false, err
		}
		n, perr := strconv.ParseInt(string(b), 10, strconv.IntSize)
		if perr != nil {
			return 0, false, ErrType
		}
		return int(n), true, nil
	}
	if err := s.Skip(); err != nil {
		return 0, false, err
	}
	return 0, false, ErrType
}

func (s *Scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.syntax("invalid literal")
	}
	s.pos += len(lit)
	return nil
}

// number reads a number (RFC 8259 section 6) and returns its bytes.
func (s *Scanner) number() ([]byte, error) {
	d, start := s.data, s.pos
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return nil, s.syntax("invalid character looking for a value")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.syntax("want a digit after the decimal point")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.syntax("want a digit in the exponent")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return d[start:i], nil
}

// plain marks the bytes a string's fast loop reads past: all but '"',
// '\\' and control characters.
var plain = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// skipString reads past a string whose '"' is next; escaped reports
// whether it holds an escape.
func (s *Scanner) skipString() (escaped bool, err error) {
	d := s.data
	i := s.pos + 1
	for {
		for i+8 <= len(d) {
			// Eight bytes at a time: the first that is '"', '\\' or a
			// control character, if any.
			x := binary.LittleEndian.Uint64(d[i:])
			if m := special(x); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(d) && plain[d[i]] {
			i++
		}
		if i >= len(d) {
			s.pos = i
			return false, s.syntax("unexpected end in a string")
		}
		switch d[i] {
		case '"':
			s.pos = i + 1
			return escaped, nil
		case '\\':
			escaped = true
			if i+1 >= len(d) {
				s.pos = i
				return false, s.syntax("unexpected end in a string escape")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					s.pos = i
					return false, s.syntax("invalid \\u escape")
				}
				i += 6
			default:
				s.pos = i
				return false, s.syntax("invalid escape in a string")
			}
		default:
			s.pos = i
			return false, s.syntax("control character in a string")
		}
	}
}

// special returns a word with the high bit set in the lowest byte of x
// (the first in memory) that is '"', '\\' or below 0x20, if any; the bits of
// the bytes after that one may be wrong (a borrow carries), so only the
// lowest is read.
func special(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	return ((quote-ones)&^quote | (backslash-ones)&^backslash | (x-ones*0x20)&^x) & highs
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// str reads a string whose '"' is next and returns it decoded: the text's
// own bytes when they need no decoding, else encoding/json's decoding.
func (s *Scanner) str() ([]byte, error) {
	start := s.pos
	escaped, err := s.skipString()
	if err != nil {
		return nil, err
	}
	raw := s.data[start:s.pos]
	inner := raw[1 : len(raw)-1]
	if !escaped && utf8.Valid(inner) {
		return inner, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, s.syntax("string does not decode")
	}
	return []byte(v), nil
}
