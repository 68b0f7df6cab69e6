package gateway

import (
	"github.com/patientaccess/gateway/fhir/catalog"
	"github.com/patientaccess/gateway/oauth"
)

// oauthTypes tells the authorization server about the FHIR types served,
// from the FHIR catalog: the scopes it advertises, the data category the
// consent page groups each type under and the search parameters a scope
// restriction may name all come from the one table the FHIR API enforces.
// (The member pages get the types' words from the same table: newUI.)
func oauthTypes(types []*catalog.Type) []oauth.ResourceType {
	out := make([]oauth.ResourceType, 0, len(types))
	for _, t := range types {
		rt := oauth.ResourceType{Name: t.Name, Category: string(t.Category)}
		for _, p := range append(append([]catalog.Param{}, catalog.Common...), t.Params...) {
			rt.SearchParams = append(rt.SearchParams, p.Name)
		}
		out = append(out, rt)
	}
	return out
}

// typeNames returns the names of the served types, for the app criteria.
func typeNames(types []*catalog.Type) []string {
	out := make([]string, 0, len(types))
	for _, t := range types {
		out = append(out, t.Name)
	}
	return out
}
