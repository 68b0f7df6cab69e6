package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/patientaccess/gateway/fhir/access"
	"github.com/patientaccess/gateway/oauth/smart"
)

// maxSearchBody limits a POST _search form body.
const maxSearchBody = 64 << 10

// serveSearch answers GET /fhir/{type} and POST /fhir/{type}/_search
// (FHIR R4 http.html "search"). The search never leaves the token's
// patient compartment: a patient parameter naming anyone else matches
// nothing, and every resource the Source returns is checked again.
func (h *Handler) serveSearch(w http.ResponseWriter, r *http.Request) {
	c, ok := h.begin(w, r, "fhir.search")
	if !ok || !c.decide(smart.Search, nil) {
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
	page, ids, err := h.search(c, s)
	if err != nil {
		c.internal("fhir: search failed", err)
		return
	}
	body, err := h.searchset(c.typ, s, page, ids)
	if err != nil {
		c.internal("fhir: encode searchset", err)
		return
	}
	writeResource(w, body)
	c.finish("success", "", len(page.Entries))
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

// search asks the Source, always within the token's compartment, and fails
// closed if the Source returns anything outside it. It returns the ids of
// the entries too.
func (h *Handler) search(c *call, s searchRequest) (Page, []string, error) {
	patient := c.token.Patient
	if s.hasPatient && s.patient != patient {
		return Page{}, nil, nil
	}
	page, err := h.Source.Search(c.r.Context(), c.typ, Query{
		Patient: patient, IDs: s.ids, LastUpdated: s.lastUpdated, Count: s.count, Offset: s.offset,
	})
	if err != nil {
		return Page{}, nil, err
	}
	if len(page.Entries) > s.count {
		page.Entries = page.Entries[:s.count]
	}
	ids := make([]string, len(page.Entries))
	for i, raw := range page.Entries {
		owner, f := inspect(raw)
		if !access.InCompartment(patient, c.typ, owner) {
			return Page{}, nil, errors.New("fhir: source returned a resource outside the patient compartment")
		}
		ids[i] = f.ID
	}
	return page, ids, nil
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
	Total int          `json:"total"`
	Link  []bundleLink `json:"link"`
}

// searchset builds the searchset Bundle around the raw entries; the links
// reproduce the normalized search under BaseURL, with next only when more
// matches remain. The entries' resources are written as the exact bytes
// the Source returned (search already checked each is valid JSON).
func (h *Handler) searchset(typ string, s searchRequest, page Page, ids []string) ([]byte, error) {
	b := bundle{ResourceType: "Bundle", Type: "searchset", Total: page.Total}
	b.Meta.LastUpdated = h.now().UTC().Format(time.RFC3339)
	b.Link = []bundleLink{{"self", h.searchURL(typ, s.encode(s.offset, s.hasOffset))}}
	if next := s.offset + len(page.Entries); len(page.Entries) > 0 && next < page.Total {
		b.Link = append(b.Link, bundleLink{"next", h.searchURL(typ, s.encode(next, true))})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // links carry '&'
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	buf.Truncate(buf.Len() - 2) // drop "}\n": the entries follow
	if len(page.Entries) == 0 {
		buf.WriteByte('}')
		return buf.Bytes(), nil
	}
	buf.WriteString(`,"entry":[`)
	for i, raw := range page.Entries {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"fullUrl":`)
		if err := enc.Encode(h.BaseURL + "/" + typ + "/" + ids[i]); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1) // drop "\n"
		buf.WriteString(`,"resource":`)
		buf.Write(raw)
		buf.WriteString(`,"search":{"mode":"match"}}`)
	}
	buf.WriteString("]}")
	return buf.Bytes(), nil
}

func (h *Handler) searchURL(typ, query string) string {
	u := h.BaseURL + "/" + typ
	if query != "" {
		u += "?" + query
	}
	return u
}
