package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/oauth/smart"
)

// maxSearchBody limits a POST _search form body.
const maxSearchBody = 64 << 10

// serveSearch answers GET /fhir/{type} and POST /fhir/{type}/_search
// (FHIR R4 http.html "search"). The search never leaves the token's
// constraint: a parameter naming another patient matches nothing, the
// Source is asked only for the member's compartment, and every resource it
// returns is checked again; an answer with anything outside the constraint
// is withheld whole (502).
func (h *Handler) serveSearch(w http.ResponseWriter, r *http.Request) {
	c, ok := h.begin(w, r, "fhir.search")
	if !ok {
		return
	}
	if c.typ == nil {
		c.decide(smart.Search, nil) // renders the refusal for a type not served
		return
	}
	params, status, msg := searchParams(w, r)
	if status != 0 {
		c.fail(status, "invalid", msg, "unreadable search request")
		return
	}
	s, err := parseSearch(c.typ, params)
	var pe *paramError
	if errors.As(err, &pe) {
		c.fail(http.StatusBadRequest, pe.code, pe.msg, "bad search parameters")
		return
	}
	if !c.decide(smart.Search, s.values()) {
		return
	}
	q, none, ok := c.query(s)
	if !ok {
		return
	}
	var page Page
	if !none {
		if page, err = h.Source.Search(r.Context(), q); err != nil {
			c.sourceFailed("fhir: search failed", err)
			return
		}
	}
	c.respond(s, page)
	releasePage(page) // the Bundle that holds a copy of its resources is written
}

// query turns a validated search into the Source query: the cursor
// checked, and a parameter on the compartment narrowed to the member (none
// is true when it names only other patients, so nothing can match).
func (c *call) query(s searchRequest) (q Query, none, ok bool) {
	q = Query{Type: c.typ, Constraint: c.constraint, Includes: s.includes, Count: s.count}
	if s.cursor != "" {
		inner, valid := openCursor(c.h.key, c.cursorBinding(s), s.cursor)
		if !valid {
			c.fail(http.StatusBadRequest, "invalid", "The _page parameter does not belong to this search; follow the Bundle's links.", "bad page cursor")
			return q, false, false
		}
		q.Cursor = inner
	}
	for _, cr := range s.criteria {
		if c.typ.Kind != catalog.MemberData || cr.Param.Name != c.typ.Owner.Param {
			q.Criteria = append(q.Criteria, cr)
			continue
		}
		if !namesPatient(cr, c.token.Patient) {
			none = true // the Source restricts to the member already; drop the criterion
		}
	}
	return q, none, true
}

// namesPatient reports whether one of the criterion's values is patient.
func namesPatient(c Criterion, patient string) bool {
	for _, v := range c.Values {
		if c.Param.Kind == catalog.Reference {
			typ, id, _ := parseReferenceValue(c.Param, v)
			if (typ == "" || typ == "Patient") && id == patient {
				return true
			}
		} else if v == patient {
			return true
		}
	}
	return false
}

// cursorBinding is what a next link's cursor is bound to: the member, the
// app, the type and the normalized search.
func (c *call) cursorBinding(s searchRequest) string {
	return strings.Join([]string{c.token.Patient, c.token.ClientID, c.typ.Name, s.encode()}, "\x00")
}

// respond checks every resource of the page against the constraint and
// writes the searchset. Resources the constraint withholds as sensitive
// are left out; the Source's total never counts them (see Page.Total),
// and if a Source returned one anyway the total is dropped rather than
// let it tell that something was left out.
func (c *call) respond(s searchRequest, page Page) {
	page.truncate(s.count)
	entries, withheld, err := c.admit(page.Entries, page.EntryFacts, c.typ)
	if err != nil {
		c.upstreamFault(err)
		return
	}
	included, withheldIncludes, err := c.admit(page.Included, page.IncludedFacts, nil)
	if err != nil {
		c.upstreamFault(err)
		return
	}
	if withheld > 0 {
		page.Total = -1
	}
	next := ""
	if page.Next != "" {
		next = sealCursor(c.h.key, c.cursorBinding(s), page.Next)
	}
	body, err := c.h.searchset(c.typ.Name, s, page.Total, entries, included, next)
	if err != nil {
		c.sourceFailed("fhir: encode searchset", err)
		return
	}
	for _, e := range included {
		if !slices.Contains(c.event.ResourceTypes, e.facts.Type) {
			c.event.ResourceTypes = append(c.event.ResourceTypes, e.facts.Type)
		}
	}
	reason := ""
	if n := withheld + withheldIncludes; n > 0 {
		reason = "sensitive resources withheld: " + strconv.Itoa(n)
	}
	if c.disclosed(reason, len(entries)+len(included)) {
		writeResource(c.w, body.Bytes())
	}
	releaseBundle(body)
}

// checked is a resource that passed the constraint.
type checked struct {
	raw   json.RawMessage
	facts catalog.Facts
}

// admit checks resources against the call's constraint and returns those
// that pass and how many it withheld as sensitive. Matches (want set) must
// be of type want; included resources (want nil) of any served type. A
// resource the constraint withholds as sensitive is left out, as is an
// included resource the scopes do not grant (the search asked for it, the
// app may not see it); anything else outside the constraint is an error:
// the answer is not used.
func (c *call) admit(raws []json.RawMessage, facts []catalog.Facts, want *catalog.Type) ([]checked, int, error) {
	match := want != nil
	out := make([]checked, 0, len(raws))
	withheld := 0
	for i, raw := range raws {
		var f catalog.Facts
		var err error
		if len(facts) == len(raws) {
			f = facts[i] // the Source read them from these very bytes (Page.EntryFacts)
		} else if f, err = c.h.inspect(raw); err != nil {
			return nil, 0, err
		}
		typ, ok := c.h.served[f.Type]
		if !ok || (match && typ != want) || !catalog.ValidID(f.ID) {
			return nil, 0, access.ErrNotServed
		}
		err = c.constraint.Check(f, restrictionMatcher(typ, raw))
		switch {
		case errors.Is(err, access.ErrWithheld):
			withheld++
			continue
		case !match && errors.Is(err, access.ErrNotGranted):
			continue
		case err != nil:
			return nil, 0, err
		}
		out = append(out, checked{raw: raw, facts: f})
	}
	return out, withheld, nil
}

// searchParams returns the query parameters, and for POST the form body
// too, or a status and message when the request cannot be read.
func searchParams(w http.ResponseWriter, r *http.Request) (url.Values, int, string) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), 0, ""
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, http.StatusUnsupportedMediaType, "POST _search needs an application/x-www-form-urlencoded body"
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSearchBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, "the search body is larger than 64 KiB"
		}
		return nil, http.StatusBadRequest, "the search body is not a valid form"
	}
	return r.Form, 0, ""
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type bundle struct {
	ResourceType string `json:"resourceType"`
	Meta         struct {
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
	Type  string       `json:"type"`
	Total *int         `json:"total,omitempty"`
	Link  []bundleLink `json:"link"`
}

// searchset builds the searchset Bundle around the checked resources; the
// links reproduce the normalized search under BaseURL, next only when a
// cursor continues it. Resources are written as the exact bytes the Source
// returned.
func (h *Handler) searchset(typ string, s searchRequest, total int, entries, included []checked, next string) (*bytes.Buffer, error) {
	query := s.encode()
	self := query
	if s.cursor != "" {
		self = joinQuery(query, ParamPage+"="+url.QueryEscape(s.cursor))
	}
	nextURL := ""
	if next != "" {
		nextURL = h.searchURL(typ, joinQuery(query, ParamPage+"="+url.QueryEscape(next)))
	}
	return h.bundleBody(h.searchURL(typ, self), nextURL, total, entries, included)
}

// bundleBuffers are the buffers Bundles are written into, used again once
// written to the client (releaseBundle): a page of claims is tens of
// kilobytes, and a buffer per search was half of what the gateway
// allocated under the load harness, and most of its collector's work.
var bundleBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBundle is the largest buffer kept for another Bundle: a rare
// huge page ($everything with many includes) is not held on to.
const maxPooledBundle = 1 << 20

// releaseBundle gives a Bundle's buffer back once its bytes are written.
func releaseBundle(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBundle {
		buf.Reset()
		bundleBuffers.Put(buf)
	}
}

// bundleBody writes a searchset with its self and next links (next may be
// empty), the total when it is not negative, the matches and then the
// included resources, into a pooled buffer: give it back with
// releaseBundle.
func (h *Handler) bundleBody(self, next string, total int, entries, included []checked) (*bytes.Buffer, error) {
	b := bundle{ResourceType: "Bundle", Type: "searchset"}
	if total >= 0 {
		b.Total = &total
	}
	b.Meta.LastUpdated = h.now().UTC().Format(time.RFC3339)
	b.Link = []bundleLink{{"self", self}}
	if next != "" {
		b.Link = append(b.Link, bundleLink{"next", next})
	}
	buf := bundleBuffers.Get().(*bytes.Buffer)
	buf.Grow(bundleSize(h.BaseURL, self, next, entries, included)) // at most one allocation, not a doubling per growth
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false) // links carry '&'
	if err := enc.Encode(b); err != nil {
		releaseBundle(buf)
		return nil, err
	}
	buf.Truncate(buf.Len() - 2) // drop "}\n": the entries follow
	if len(entries)+len(included) == 0 {
		buf.WriteByte('}')
		return buf, nil
	}
	buf.WriteString(`,"entry":[`)
	first := true
	for _, group := range []struct {
		mode string
		list []checked
	}{{"match", entries}, {"include", included}} {
		for _, e := range group.list {
			if !first {
				buf.WriteByte(',')
			}
			first = false
			if err := h.writeEntry(buf, enc, e, group.mode); err != nil {
				releaseBundle(buf)
				return nil, err
			}
		}
	}
	buf.WriteString("]}")
	return buf, nil
}

// bundleSize is about what bundleBody writes: the resources' bytes and, for
// each, its fullUrl and wrapping, and the Bundle's own members; a little
// more when a fullUrl or link needs escaping.
func bundleSize(base, self, next string, entries, included []checked) int {
	const perBundle, perEntry = 256, 80 // the Bundle's members and links' JSON; an entry's wrapping
	n := perBundle + len(self) + len(next)
	for _, list := range [][]checked{entries, included} {
		for _, e := range list {
			n += perEntry + len(base) + len(e.facts.Type) + len(e.facts.ID) + len(e.raw)
		}
	}
	return n
}

func (h *Handler) writeEntry(buf *bytes.Buffer, enc *json.Encoder, e checked, mode string) error {
	buf.WriteString(`{"fullUrl":`)
	if prefix := h.fullURLPrefix(); prefix != "" && catalog.ValidID(e.facts.Type) && catalog.ValidID(e.facts.ID) {
		// Ids and type names need no escaping: the JSON string is the
		// base's, encoded once, and the two as they are.
		buf.WriteString(prefix)
		buf.WriteString(e.facts.Type)
		buf.WriteByte('/')
		buf.WriteString(e.facts.ID)
		buf.WriteByte('"')
	} else {
		if err := enc.Encode(h.BaseURL + "/" + e.facts.Type + "/" + e.facts.ID); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // drop "\n"
	}
	buf.WriteString(`,"resource":`)
	buf.Write(e.raw)
	buf.WriteString(`,"search":{"mode":"` + mode + `"}}`)
	return nil
}

// fullURLPrefix is the start of every entry's fullUrl as a JSON string,
// `"` and BaseURL and "/" as encoding/json writes them (HTML characters
// unescaped, as the Bundle is written), encoded once.
func (h *Handler) fullURLPrefix() string {
	h.fullURLOnce.Do(func() {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if enc.Encode(h.BaseURL+"/") == nil {
			h.fullURL = strings.TrimSuffix(b.String(), "\"\n")
		}
	})
	return h.fullURL
}

func joinQuery(a, b string) string {
	if a == "" {
		return b
	}
	return a + "&" + b
}

func (h *Handler) searchURL(typ, query string) string {
	u := h.BaseURL + "/" + typ
	if query != "" {
		u += "?" + query
	}
	return u
}
