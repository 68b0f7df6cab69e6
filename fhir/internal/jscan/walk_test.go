package jscan

import (
	"errors"
	"strings"
	"testing"
)

// TestMembersAndElements: the walkers read past null and values of other
// types, refuse a member read twice, stop at a syntax error, and return
// any other error once the whole value is read, so that reading goes on.
func TestMembersAndElements(t *testing.T) {
	errBad := errors.New("bad value")
	readA := func(s *Scanner) func(key []byte) (int, error) {
		return func(key []byte) (int, error) {
			switch string(key) {
			case "a":
				v, _, err := s.String()
				if err == nil && v == "bad" {
					err = errBad
				}
				return 1, err
			}
			return 0, s.Skip()
		}
	}
	for _, tc := range []struct {
		name, text string
		want       error  // errors.Is, or nil
		syntax     bool   // a syntax error
		dup        bool   // "appears twice"
		rest       string // what is left after the value (a syntax error leaves no promise)
	}{
		{name: "object", text: `{"a":"x","b":[1,{"c":2}]} ,1`, rest: ",1"},
		{name: "null", text: `null ,1`, rest: ",1"},
		{name: "other type", text: `[1,2] ,1`, want: ErrType, rest: ",1"},
		{name: "twice", text: `{"a":"x","a":"y"} ,1`, dup: true, rest: ",1"},
		{name: "bad value read to the end", text: `{"a":"bad","b":3} ,1`, want: errBad, rest: ",1"},
		{name: "syntax", text: `{"a":"x",}`, syntax: true},
	} {
		t.Run("Members/"+tc.name, func(t *testing.T) {
			s := New([]byte(tc.text))
			err := Members(&s, readA(&s))
			check(t, err, tc.want, tc.syntax, tc.dup)
			if left := strings.TrimSpace(string(s.Bytes()[s.Pos():])); !tc.syntax && left != tc.rest {
				t.Errorf("left %q, want %q", left, tc.rest)
			}
		})
	}
	for _, tc := range []struct {
		name, text string
		want       error
		syntax     bool
		n          int // elements read
	}{
		{name: "array", text: `["x","y","z"]`, n: 3},
		{name: "null", text: `null`},
		{name: "other type", text: `{"a":1}`, want: ErrType},
		{name: "bad element read to the end", text: `["x","bad","z"]`, want: errBad, n: 3},
		{name: "syntax", text: `["x",]`, syntax: true, n: 2}, // the second element is the bad one
	} {
		t.Run("Elements/"+tc.name, func(t *testing.T) {
			s := New([]byte(tc.text))
			n := 0
			err := Elements(&s, func() error {
				n++
				v, _, err := s.String()
				if err == nil && v == "bad" {
					return errBad
				}
				return err
			})
			check(t, err, tc.want, tc.syntax, false)
			if n != tc.n {
				t.Errorf("read %d elements, want %d", n, tc.n)
			}
			if !tc.syntax {
				if err := s.End(); err != nil {
					t.Errorf("not read to the end: %v", err)
				}
			}
		})
	}
}

func check(t *testing.T, err, want error, syntax, dup bool) {
	t.Helper()
	switch {
	case syntax:
		if !IsSyntax(err) {
			t.Errorf("err %v, want a syntax error", err)
		}
	case dup:
		if err == nil || !strings.Contains(err.Error(), "appears twice") {
			t.Errorf("err %v, want a member read twice", err)
		}
	case want == nil:
		if err != nil {
			t.Errorf("err %v", err)
		}
	default:
		if !errors.Is(err, want) {
			t.Errorf("err %v, want %v", err, want)
		}
	}
}
