package fhir

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// upstreamBundle is the part of a searchset the gateway reads. Resources
// stay json.RawMessage: the exact bytes the upstream sent.
type upstreamBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
		Search   struct {
			Mode string `json:"mode"`
		} `json:"search"`
	} `json:"entry"`
}

// parseSearchset reads an upstream searchset into a Page: matches and
// includes apart, OperationOutcome entries (warnings) left out, and the
// next link turned into a cursor relative to the base.
func (u *Upstream) parseSearchset(body []byte) (Page, error) {
	var b upstreamBundle
	if err := json.Unmarshal(body, &b); err != nil {
		return Page{}, fmt.Errorf("fhir: upstream searchset is not JSON: %v: %w", err, ErrBadGateway)
	}
	if b.ResourceType != "Bundle" || b.Type != "searchset" {
		return Page{}, fmt.Errorf("fhir: upstream answered a %s %q, not a searchset: %w", b.ResourceType, b.Type, ErrBadGateway)
	}
	page := Page{Total: -1}
	if b.Total != nil && *b.Total >= 0 {
		page.Total = *b.Total
	}
	for i, e := range b.Entry {
		switch e.Search.Mode {
		case "", "match":
			page.Entries = append(page.Entries, e.Resource)
		case "include":
			page.Included = append(page.Included, e.Resource)
		case "outcome":
		default:
			return Page{}, fmt.Errorf("fhir: upstream searchset entry %d has search mode %q: %w", i, e.Search.Mode, ErrBadGateway)
		}
		if len(e.Resource) == 0 && e.Search.Mode != "outcome" {
			return Page{}, fmt.Errorf("fhir: upstream searchset entry %d has no resource: %w", i, ErrBadGateway)
		}
	}
	for _, l := range b.Link {
		if l.Relation != "next" {
			continue
		}
		rel, err := u.relative(l.URL)
		if err != nil {
			return Page{}, err
		}
		page.Next = rel
	}
	return page, nil
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
