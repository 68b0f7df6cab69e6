package fhir

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/oauth/smart"
)

// everythingDefinition is the operation the CapabilityStatement declares.
const everythingDefinition = "http://hl7.org/fhir/OperationDefinition/Patient-everything"

// maxEverythingCalls bounds the Source searches one $everything page makes,
// so a Source that keeps answering empty pages with a next link cannot hold
// a request for ever.
const maxEverythingCalls = 32

// everythingPart is one type of the member's compartment an $everything
// answer walks, with the includes that bring in the shared reference data
// its records name.
type everythingPart struct {
	typ      *catalog.Type
	includes []catalog.Param
}

// serveEverything answers GET /fhir/Patient/{id}/$everything (FHIR R4
// patient-operation-everything) for the token's own member: every record
// of the member's compartment the granted scopes let the app search, type
// by type in the CapabilityStatement's order, with the shared reference
// data those records name (organizations, practitioners) the scopes grant,
// as included entries. Another patient's id answers 404, as a missing
// resource does. Sensitive records the member did not share are left out,
// as from any search. The answer is a searchset paged by _count (default
// 20, at most 100) with a signed next link; it is audited as one
// "fhir.everything" event per page.
func (h *Handler) serveEverything(w http.ResponseWriter, r *http.Request) {
	c, ok := h.beginType(w, r, "fhir.everything", "Patient")
	if !ok {
		return
	}
	if c.typ == nil {
		c.decide(smart.Search, nil) // renders the refusal for a type not served
		return
	}
	count, cursor, err := parseEverything(r.URL.Query())
	var pe *paramError
	if errors.As(err, &pe) {
		c.fail(http.StatusBadRequest, pe.code, pe.msg, "bad $everything parameters")
		return
	}
	parts, constraint, ok := c.everythingParts()
	if !ok {
		return
	}
	if id := r.PathValue("id"); id != c.token.Patient {
		c.deny(access.Missing())
		return
	}
	c.constraint = constraint
	bind := strings.Join([]string{c.token.Patient, c.token.ClientID, "Patient/$everything", strconv.Itoa(count)}, "\x00")
	part, inner := 0, ""
	if cursor != "" {
		p, in, ok := openEverythingCursor(c.h.key, bind, cursor, len(parts))
		if !ok {
			c.fail(http.StatusBadRequest, "invalid", "The _page parameter does not belong to this request; follow the Bundle's links.", "bad page cursor")
			return
		}
		part, inner = p, in
	}
	c.everythingPage(parts, count, part, inner, bind, cursor)
}

// parseEverything reads the parameters $everything takes here: _count,
// _page and _format. Any other is refused, as in a search.
func parseEverything(v url.Values) (count int, cursor string, err error) {
	count = DefaultCount
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		vals := v[name]
		if len(vals) != 1 || vals[0] == "" {
			return 0, "", invalid("parameter " + quoteName(name) + " must appear once with a value")
		}
		switch name {
		case "_count":
			if count, err = parseInt("_count", vals[0], 1, MaxCount); err != nil {
				return 0, "", err
			}
		case ParamPage:
			if len(vals[0]) > maxCursorLen {
				return 0, "", invalid("parameter _page must come from a next link")
			}
			cursor = vals[0]
		case "_format":
			if err := checkFormat(vals[0]); err != nil {
				return 0, "", err
			}
		default:
			return 0, "", unsupported("parameter " + quoteName(name) + " is not supported on $everything; it takes _count")
		}
	}
	return count, cursor, nil
}

// everythingParts lists the member-data types the token may search, in
// served order, each with its includes narrowed to shared reference types
// (the member's own records come as matches of their own type). With no
// such type it answers 403 itself.
func (c *call) everythingParts() ([]everythingPart, access.Constraint, bool) {
	var parts []everythingPart
	var constraint access.Constraint
	var refusal access.Decision
	for _, t := range c.h.types() {
		if t.Kind != catalog.MemberData {
			continue
		}
		d := access.Decide(access.Request{
			Authenticated: true, Patient: c.token.Patient, Scopes: c.token.Scopes,
			Served: c.h.served, ResourceType: t.Name, Interaction: smart.Search,
			Sensitive: c.h.Sensitive, SensitiveAllowed: c.token.Sensitive,
		})
		if !d.Allowed {
			if refusal.Status == 0 {
				refusal = d
			}
			continue
		}
		constraint = d.Constraint
		parts = append(parts, everythingPart{typ: t, includes: sharedIncludes(t, c.h.served)})
	}
	if len(parts) == 0 {
		if refusal.Status == 0 {
			refusal = access.Decide(access.Request{Authenticated: true, Patient: c.token.Patient, Served: c.h.served,
				ResourceType: "Patient", Interaction: smart.Search})
		}
		c.deny(refusal)
		return nil, constraint, false
	}
	return parts, constraint, true
}

// sharedIncludes are t's includes narrowed to the served shared types.
func sharedIncludes(t *catalog.Type, served access.Types) []catalog.Param {
	var out []catalog.Param
	for _, p := range t.Includes {
		p.Targets = slices.DeleteFunc(slices.Clone(p.Targets), func(name string) bool {
			st, ok := served[name]
			return !ok || st.Kind != catalog.Shared
		})
		if len(p.Targets) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// everythingPage fills one page of count records from parts[part] on
// (continuing inner), checks every resource against the constraint and
// writes the searchset.
func (c *call) everythingPage(parts []everythingPart, count, part int, inner, bind, cursor string) {
	var entries, included []checked
	seen := map[string]bool{}
	withheld := 0
	for calls := 0; part < len(parts) && len(entries) < count && calls < maxEverythingCalls; calls++ {
		p := parts[part]
		page, err := c.h.Source.Search(c.r.Context(), Query{Type: p.typ, Constraint: c.constraint, Includes: p.includes,
			Count: count - len(entries), Cursor: inner})
		if err != nil {
			c.sourceFailed("fhir: $everything search failed", err)
			return
		}
		page.truncate(count - len(entries))
		got, n, err := c.admit(page.Entries, page.EntryFacts, p.typ)
		if err != nil {
			c.upstreamFault(err)
			return
		}
		inc, m, err := c.admit(page.Included, page.IncludedFacts, nil)
		if err != nil {
			c.upstreamFault(err)
			return
		}
		withheld += n + m
		entries = append(entries, got...)
		for _, e := range inc {
			if key := e.facts.Type + "/" + e.facts.ID; !seen[key] {
				seen[key] = true
				included = append(included, e)
			}
		}
		if len(got) > 0 && !slices.Contains(c.event.ResourceTypes, p.typ.Name) {
			c.event.ResourceTypes = append(c.event.ResourceTypes, p.typ.Name)
		}
		if page.Next != "" {
			inner = page.Next
		} else {
			part, inner = part+1, ""
		}
	}
	for _, e := range included {
		if !slices.Contains(c.event.ResourceTypes, e.facts.Type) {
			c.event.ResourceTypes = append(c.event.ResourceTypes, e.facts.Type)
		}
	}
	base := c.h.BaseURL + "/Patient/" + c.token.Patient + "/$everything?_count=" + strconv.Itoa(count)
	self := base
	if cursor != "" {
		self += "&" + ParamPage + "=" + url.QueryEscape(cursor)
	}
	next := ""
	if part < len(parts) {
		next = base + "&" + ParamPage + "=" + url.QueryEscape(sealCursor(c.h.key, bind, strconv.Itoa(part)+":"+inner))
	}
	body, err := c.h.bundleBody(self, next, -1, entries, included)
	if err != nil {
		c.sourceFailed("fhir: encode $everything", err)
		return
	}
	reason := ""
	if withheld > 0 {
		reason = "sensitive resources withheld: " + strconv.Itoa(withheld)
	}
	if c.disclosed(reason, len(entries)+len(included)) {
		writeResource(c.w, body.Bytes())
	}
	releaseBundle(body)
}

// openEverythingCursor reads a sealed "part:inner" cursor.
func openEverythingCursor(key []byte, bind, token string, parts int) (int, string, bool) {
	raw, ok := openCursor(key, bind, token)
	if !ok {
		return 0, "", false
	}
	p, inner, ok := strings.Cut(raw, ":")
	n, err := strconv.Atoi(p)
	if !ok || err != nil || n < 0 || n >= parts {
		return 0, "", false
	}
	return n, inner, true
}
