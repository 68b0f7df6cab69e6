package main

import (
	"context"
	"encoding/json"
	"fmt"
)

// The upstream scenarios' names, as printed.
const (
	scenarioUpstreamRead   = "upstream: FHIR read by id"
	scenarioUpstreamSearch = "upstream: EOB search by patient"
)

// upstreamBase is the FHIR base path of the upstream server the harness
// starts: the gateway is given {upstream}/fhir.
const upstreamBase = "/fhir"

// fhirJSON is the media type the upstream answers with.
const fhirJSON = "application/fhir+json"

// upstreamCapability is the upstream's CapabilityStatement: what the
// gateway reads at start-up (GET [base]/metadata) to decide what it serves
// in front of it. It declares the two types the scenarios use, with read
// and search-type, and the search parameters the gateway's queries send:
// _id (Patient's compartment) and patient (ExplanationOfBenefit's). The
// gateway drops the other types, as it would in front of such a server.
const upstreamCapability = `{"resourceType":"CapabilityStatement","status":"active","date":"2026-01-01","kind":"instance",` +
	`"fhirVersion":"4.0.1","format":["json"],"rest":[{"mode":"server","resource":[` +
	`{"type":"Patient","interaction":[{"code":"read"},{"code":"search-type"}],"searchParam":[{"name":"_id","type":"token"}]},` +
	`{"type":"ExplanationOfBenefit","interaction":[{"code":"read"},{"code":"search-type"}],` +
	`"searchParam":[{"name":"_id","type":"token"},{"name":"patient","type":"reference"}]}]}]}`

// upstreamRoutes are the answers of a small FHIR-shaped upstream server
// built from the demo data's bytes, as the embedded gateway serves them:
// the member's Patient (GET Patient/{id}, which the gateway sends for the
// member's own Patient), a searchset Bundle of her ExplanationOfBenefits
// with their bytes unchanged (GET ExplanationOfBenefit?patient=Patient/{id}
// &_count=20, what the gateway sends for a search; every EOB fits in the
// page, so there is no next link), and the CapabilityStatement. A bare
// ReverseProxy in front of it gets the same bytes for the same paths.
func upstreamRoutes(e *env, token string) ([]route, error) {
	patient, _, err := capture(e.base+"/fhir/Patient/"+e.patient, token)
	if err != nil {
		return nil, fmt.Errorf("read the demo Patient: %w", err)
	}
	search, _, err := capture(e.base+"/fhir/ExplanationOfBenefit?patient="+e.patient+"&_count=20", token)
	if err != nil {
		return nil, fmt.Errorf("read the demo EOBs: %w", err)
	}
	var got struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(search, &got); err != nil || len(got.Entry) == 0 {
		return nil, fmt.Errorf("the demo EOB search answered no entries (%v)", err)
	}
	type entry struct {
		FullURL  string            `json:"fullUrl"`
		Resource json.RawMessage   `json:"resource"`
		Search   map[string]string `json:"search"`
	}
	const host = "http://fhir.upstream.example" + upstreamBase
	b := struct {
		ResourceType string              `json:"resourceType"`
		Type         string              `json:"type"`
		Total        int                 `json:"total"`
		Link         []map[string]string `json:"link"`
		Entry        []entry             `json:"entry"`
	}{ResourceType: "Bundle", Type: "searchset", Total: len(got.Entry),
		Link: []map[string]string{{"relation": "self", "url": host + "/ExplanationOfBenefit?patient=Patient/" + e.patient + "&_count=20"}}}
	for _, en := range got.Entry {
		var id struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(en.Resource, &id)
		b.Entry = append(b.Entry, entry{FullURL: host + "/ExplanationOfBenefit/" + id.ID, Resource: en.Resource, Search: map[string]string{"mode": "match"}})
	}
	bundle, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return []route{
		{Path: upstreamBase + "/metadata", ContentType: fhirJSON, Body: []byte(upstreamCapability)},
		{Path: upstreamBase + "/Patient/" + e.patient, ContentType: fhirJSON, Body: patient},
		{Path: upstreamBase + "/ExplanationOfBenefit", ContentType: fhirJSON, Body: bundle},
	}, nil
}

// upstreamRig is a gateway in upstream mode and a bare ReverseProxy, both
// in front of the same upstream server.
type upstreamRig struct {
	upstream *server
	proxy    *server
	gw       *env
	tokens   []string // the upstream-mode gateway's, as many as -tokens
}

// startUpstream starts the upstream server with the demo data's bytes
// (read through the embedded gateway e), a bare ReverseProxy in front of
// it, and a gateway in upstream mode on e's store in front of it.
func startUpstream(ctx context.Context, o options, e *env, token string) (*upstreamRig, error) {
	routes, err := upstreamRoutes(e, token)
	if err != nil {
		return nil, err
	}
	r := &upstreamRig{}
	if r.upstream, err = startPlain(ctx, o, "upstream FHIR server", routes); err != nil {
		return nil, err
	}
	if r.proxy, err = startProxy(ctx, o, "bare ReverseProxy to upstream", r.upstream.base); err != nil {
		r.close()
		return nil, err
	}
	if r.gw, err = start(ctx, o, e.store, r.upstream.base+upstreamBase); err != nil {
		r.close()
		return nil, err
	}
	r.gw.srv.name = "gateway in upstream mode"
	toks, err := r.gw.mintMany(ctx, o.Tokens)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("upstream mode: mint tokens: %w", err)
	}
	for _, t := range toks {
		r.tokens = append(r.tokens, t.AccessToken)
	}
	return r, nil
}

// close stops every process of the rig.
func (r *upstreamRig) close() {
	if r.gw != nil {
		r.gw.close()
	}
	if r.proxy != nil {
		r.proxy.proc.stop()
	}
	if r.upstream != nil {
		r.upstream.proc.stop()
	}
}

// scenarios runs the read and the search through the gateway in upstream
// mode, through the bare proxy, and against the upstream directly, and
// prints and records their rows.
func (r *upstreamRig) scenarios(o options, clients int, t *table) error {
	paths := []struct{ name, path string }{
		{scenarioUpstreamRead, "/fhir/Patient/" + r.gw.patient},
		{scenarioUpstreamSearch, "/fhir/ExplanationOfBenefit?patient=" + r.gw.patient + "&_count=20"},
	}
	for _, p := range paths {
		// The gateway must answer what the proxy does, or the rows compare different work.
		if _, _, err := capture(r.gw.base+p.path, r.tokens[0]); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		c := comparison{
			plain: attack(o, clients, r.upstream, p.name, getTargeter(r.upstream.base+p.path, nil), nil),
			proxy: attack(o, clients, r.proxy, p.name, getTargeter(r.proxy.base+p.path, nil), nil),
			gw:    attack(o, clients, r.gw.srv, p.name, getTargeter(r.gw.base+p.path, r.tokens), nil),
		}
		printRows(o, p.name, c)
		t.rows[p.name] = c
	}
	return nil
}
