package fhir

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/patientaccess/gateway/fhir/catalog"
)

// upstreamCapabilities is the part of an upstream CapabilityStatement the
// gateway reads: per type, its interactions, search parameters and
// includes.
type upstreamCapabilities struct {
	ResourceType string `json:"resourceType"`
	Rest         []struct {
		Mode     string `json:"mode"`
		Resource []struct {
			Type        string `json:"type"`
			Interaction []struct {
				Code string `json:"code"`
			} `json:"interaction"`
			SearchParam []struct {
				Name string `json:"name"`
			} `json:"searchParam"`
			SearchInclude []string `json:"searchInclude"`
		} `json:"resource"`
	} `json:"rest"`
}

// ServedTypes reads the upstream's CapabilityStatement (GET [base]/metadata)
// and returns the types of want the gateway can serve from it, each
// narrowed to what the upstream declares. The gateway's own
// CapabilityStatement then says what is true in front of this upstream.
// The reasons for what was dropped come back for the start-up log.
func (u *Upstream) ServedTypes(ctx context.Context, want []*catalog.Type) ([]*catalog.Type, []string, error) {
	body, status, err := u.get(ctx, "metadata")
	if err != nil {
		return nil, nil, fmt.Errorf("fhir: upstream metadata: %w", err)
	}
	if status != http.StatusOK {
		return nil, nil, fmt.Errorf("fhir: upstream metadata answered %d: %w", status, ErrBadGateway)
	}
	var cs upstreamCapabilities
	if err := json.Unmarshal(body, &cs); err != nil || cs.ResourceType != "CapabilityStatement" {
		return nil, nil, fmt.Errorf("fhir: upstream metadata is not a CapabilityStatement: %w", ErrBadGateway)
	}
	served, dropped := intersect(want, cs)
	return served, dropped, nil
}

// intersect applies the rules, per type of want:
//
//   - the upstream must declare the type with read and search-type;
//   - when it lists search parameters for the type, only those of ours it
//     lists are kept (_id and _lastUpdated, defined for every resource,
//     always are), and a member-data type whose compartment parameter it
//     does not list is dropped: the gateway could not limit queries to one
//     member;
//   - only the _include values it lists are kept (Type:* keeps all).
func intersect(want []*catalog.Type, cs upstreamCapabilities) ([]*catalog.Type, []string) {
	var served []*catalog.Type
	var dropped []string
	for _, t := range want {
		res, ok := declared(cs, t.Name)
		if !ok {
			dropped = append(dropped, t.Name+": not declared with read and search-type")
			continue
		}
		n := *t
		if len(res.params) > 0 {
			n.Params = slices.DeleteFunc(slices.Clone(t.Params), func(p catalog.Param) bool { return !slices.Contains(res.params, p.Name) })
			if t.Kind == catalog.MemberData && t.Owner.Param != "_id" && !slices.Contains(res.params, t.Owner.Param) {
				dropped = append(dropped, t.Name+": the upstream does not search it by "+t.Owner.Param)
				continue
			}
		}
		n.Includes = slices.DeleteFunc(slices.Clone(t.Includes), func(p catalog.Param) bool {
			return !slices.Contains(res.includes, t.Name+":"+p.Name) && !slices.Contains(res.includes, t.Name+":*")
		})
		served = append(served, &n)
	}
	return served, dropped
}

type declaredResource struct {
	params, includes []string
}

func declared(cs upstreamCapabilities, typ string) (declaredResource, bool) {
	for _, rest := range cs.Rest {
		if rest.Mode != "server" {
			continue
		}
		for _, r := range rest.Resource {
			if r.Type != typ {
				continue
			}
			var codes []string
			for _, i := range r.Interaction {
				codes = append(codes, i.Code)
			}
			if !slices.Contains(codes, "read") || !slices.Contains(codes, "search-type") {
				return declaredResource{}, false
			}
			d := declaredResource{includes: r.SearchInclude}
			for _, p := range r.SearchParam {
				d.params = append(d.params, p.Name)
			}
			return d, true
		}
	}
	return declaredResource{}, false
}
