package fhir

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/fhir/internal/jscan"
)

// parseSearchset reads an upstream searchset into a Page: matches and
// includes apart, each with its facts, OperationOutcome entries (warnings)
// left out, and the next link turned into a cursor relative to the base.
// It reads the body in one pass (fhir/internal/jscan), checking its JSON
// and reading each resource's facts (catalog.InspectNext) on the way, so
// that the Handler checks every resource without decoding it again;
// resources stay the exact bytes the upstream sent. A member the gateway
// reads that appears twice in an object is refused, as the upstream's
// answer could be read either way.
func (u *Upstream) parseSearchset(body []byte) (Page, error) {
	s := jscan.New(body)
	page := Page{Total: -1}
	var resourceType, typ string
	if s.Peek() != '{' {
		return Page{}, fmt.Errorf("fhir: upstream searchset is not a JSON object: %w", ErrBadGateway)
	}
	err := jscan.Members(&s, func(key []byte) (int, error) {
		switch string(key) {
		case "resourceType":
			return 1, readString(&s, &resourceType)
		case "type":
			return 2, readString(&s, &typ)
		case "total":
			n, ok, err := s.Int()
			if ok && n >= 0 {
				page.Total = n
			}
			return 4, err
		case "link":
			return 8, jscan.Elements(&s, func() error {
				var rel, url string
				err := jscan.Members(&s, func(key []byte) (int, error) {
					switch string(key) {
					case "relation":
						return 1, readString(&s, &rel)
					case "url":
						return 2, readString(&s, &url)
					}
					return 0, s.Skip()
				})
				if err == nil && rel == "next" {
					page.Next, err = u.relative(url)
				}
				return err
			})
		case "entry":
			return 16, jscan.Elements(&s, func() error { return readEntry(&s, &page) })
		}
		return 0, s.Skip()
	})
	if err == nil {
		err = s.End()
	}
	switch {
	case jscan.IsSyntax(err):
		return Page{}, fmt.Errorf("fhir: upstream searchset is not JSON: %v: %w", err, ErrBadGateway)
	case errors.Is(err, ErrBadGateway):
		return Page{}, err // a next link leaving the base
	case err != nil:
		return Page{}, fmt.Errorf("fhir: upstream searchset is unusable: %v: %w", err, ErrBadGateway)
	case resourceType != "Bundle" || typ != "searchset":
		return Page{}, fmt.Errorf("fhir: upstream answered a %s %q, not a searchset: %w", resourceType, typ, ErrBadGateway)
	}
	return page, nil
}

// readEntry reads one entry of a searchset into page: its resource, with
// the resource's facts, as a match or an include by its search mode; an
// outcome (an OperationOutcome of warnings) is left out.
func readEntry(s *jscan.Scanner, page *Page) error {
	var (
		raw      []byte
		facts    catalog.Facts
		factsErr error
		mode     string
	)
	err := jscan.Members(s, func(key []byte) (int, error) {
		switch string(key) {
		case "resource":
			if null, err := s.Null(); null || err != nil {
				return 1, err
			}
			s.Peek()
			start := s.Pos()
			facts, factsErr = catalog.InspectNext(s)
			if jscan.IsSyntax(factsErr) {
				return 1, factsErr
			}
			raw = s.Bytes()[start:s.Pos():s.Pos()]
			return 1, nil
		case "search":
			return 2, jscan.Members(s, func(key []byte) (int, error) {
				if string(key) == "mode" {
					return 1, readString(s, &mode)
				}
				return 0, s.Skip()
			})
		}
		return 0, s.Skip()
	})
	if err != nil {
		return err
	}
	n := len(page.Entries) + len(page.Included)
	switch mode {
	case "outcome":
		return nil
	case "", "match", "include":
	default:
		return fmt.Errorf("entry %d has search mode %q", n, mode)
	}
	if raw == nil {
		return fmt.Errorf("entry %d has no resource", n)
	}
	if factsErr != nil {
		return fmt.Errorf("entry %d is not a FHIR resource: %v", n, factsErr)
	}
	if mode == "include" {
		page.Included = append(page.Included, raw)
		page.IncludedFacts = append(page.IncludedFacts, facts)
	} else {
		page.Entries = append(page.Entries, raw)
		page.EntryFacts = append(page.EntryFacts, facts)
	}
	return nil
}

// readString reads a string member into v (null leaves it as it is).
func readString(s *jscan.Scanner, v *string) error {
	b, ok, err := s.StringBytes()
	if ok {
		*v = string(b)
	}
	return err
}

// relative turns the upstream's next link into a path and query relative
// to the configured base. Only the path and query are kept: the link's
// scheme and host are never contacted (an upstream behind a proxy often
// names its internal host), so a link cannot send the gateway, or its
// upstream credentials, anywhere else. A link outside the base path is an
// unusable answer.
func (u *Upstream) relative(link string) (string, error) {
	l, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("fhir: upstream next link does not parse: %w", ErrBadGateway)
	}
	if !l.IsAbs() {
		dir := *u.base
		dir.Path += "/"
		l = dir.ResolveReference(l)
	}
	rest, ok := strings.CutPrefix(l.EscapedPath(), u.base.EscapedPath()+"/")
	if !ok || rest == "" || strings.Contains(rest, "..") {
		return "", fmt.Errorf("fhir: upstream next link leaves the FHIR base: %w", ErrBadGateway)
	}
	if l.RawQuery != "" {
		rest += "?" + l.RawQuery
	}
	return rest, nil
}
