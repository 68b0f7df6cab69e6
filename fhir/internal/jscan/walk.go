package jscan

import "fmt"

// Members reads an object (null reads as nothing), calling member for each
// of its members with the key; member reads the value and returns a bit of
// its own for a member it reads (0 for one it skips), so that a member
// read twice is refused. A value of another type is read past and
// reported as ErrType. A syntax error stops the reading at once; any other
// error is returned once the whole object is read, the first one, so that
// the caller may go on reading the text around it.
func Members(s *Scanner, member func(key []byte) (int, error)) error {
	if null, err := s.Null(); null || err != nil {
		return err
	}
	if s.Peek() != '{' {
		if err := s.Skip(); err != nil {
			return err
		}
		return ErrType
	}
	if err := s.Object(); err != nil {
		return err
	}
	var first error
	seen := 0
	for i := 0; ; i++ {
		key, more, err := s.Member(i)
		if err != nil {
			return err
		}
		if !more {
			return first
		}
		bit, err := member(key)
		if err != nil && IsSyntax(err) {
			return err
		}
		if seen&bit != 0 && err == nil {
			err = fmt.Errorf("member %q appears twice", key)
		}
		seen |= bit
		if first == nil {
			first = err
		}
	}
}

// Elements reads an array (null reads as none), calling element for each
// element; element reads it. Errors are as Members returns them: a syntax
// error at once, any other the first once the whole array is read.
func Elements(s *Scanner, element func() error) error {
	if null, err := s.Null(); null || err != nil {
		return err
	}
	if s.Peek() != '[' {
		if err := s.Skip(); err != nil {
			return err
		}
		return ErrType
	}
	if err := s.Array(); err != nil {
		return err
	}
	var first error
	for i := 0; ; i++ {
		more, err := s.Element(i)
		if err != nil {
			return err
		}
		if !more {
			return first
		}
		if err := element(); err != nil {
			if IsSyntax(err) {
				return err
			}
			if first == nil {
				first = err
			}
		}
	}
}
