package fhir

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/patientaccess/gateway/fhir/catalog"
	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// capabilityDate is the fixed publication date of the CapabilityStatement;
// change it when the statement changes.
const capabilityDate = "2026-12-02"

// C4BBCapabilityStatement is the CARIN Blue Button server
// CapabilityStatement this server instantiates (C4BB STU 2.0.0).
const C4BBCapabilityStatement = "http://hl7.org/fhir/us/carin-bb/CapabilityStatement/c4bb|2.0.0"

// The SMART oauth-uris extension and the security service system.
const (
	smartOAuthURIsExtension      = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
	restfulSecurityServiceSystem = "http://terminology.hl7.org/CodeSystem/restful-security-service"
)

// restDocumentation tells clients how searches are handled.
const restDocumentation = "Every request is limited to the patient compartment of the bearer token's patient. " +
	"Search is strict: unknown parameters, modifiers and empty values are refused with 400 and an OperationOutcome. " +
	"_count (1-100, default 20) sets the page size; follow the Bundle's next link to page (its _page cursor is bound to the token's member and the search). " +
	"_include never follows a reference to another member's record. A user/ scope grants a member's token what the same patient/ scope does: the member's own compartment and shared reference data."

// capabilityStatement describes this server (FHIR R4 CapabilityStatement;
// SMART App Launch 1.0 "Declaring support for OAuth2 endpoints"). Search
// handling is strict (FHIR R4 search 3.1.1.2, Prefer: handling=strict):
// unknown parameters get 400, never a silently broader answer.
func (h *Handler) capabilityStatement() models.CapabilityStatement {
	var resources []models.CapabilityStatementRestResource
	for _, t := range h.types() {
		resources = append(resources, capabilityResource(t))
	}
	name, title := "PatientAccessGateway", "Patient Access Gateway FHIR API"
	cors := true
	return models.CapabilityStatement{
		Name: &name, Title: &title,
		Status: models.PublicationStatusActive, Date: capabilityDate,
		Instantiates:   []string{C4BBCapabilityStatement},
		Kind:           models.CapabilityStatementKindInstance,
		Implementation: &models.CapabilityStatementImplementation{Description: title, Url: ptr(h.BaseURL)},
		FhirVersion:    models.FHIRVersion4_0_1,
		Format:         []string{"json"},
		Rest: []models.CapabilityStatementRest{{
			Mode:          models.RestfulCapabilityModeServer,
			Documentation: ptr(restDocumentation),
			Security: &models.CapabilityStatementRestSecurity{
				Cors:      &cors,
				Extension: []models.Extension{h.oauthURIs()},
				Service: []models.CodeableConcept{{Coding: []models.Coding{{
					System: ptr(restfulSecurityServiceSystem), Code: ptr("SMART-on-FHIR"), Display: ptr("SMART-on-FHIR"),
				}}}},
			},
			Resource: resources,
		}},
	}
}

func (h *Handler) oauthURIs() models.Extension {
	sub := func(url, value string) models.Extension {
		return models.Extension{Url: url, ValueUri: ptr(value)}
	}
	return models.Extension{Url: smartOAuthURIsExtension, Extension: []models.Extension{
		sub("authorize", h.OAuth.Authorize), sub("token", h.OAuth.Token),
		sub("revoke", h.OAuth.Revoke), sub("introspect", h.OAuth.Introspect),
	}}
}

func capabilityResource(t *catalog.Type) models.CapabilityStatementRestResource {
	var rt models.ResourceType
	_ = rt.UnmarshalJSON([]byte(`"` + t.Name + `"`))
	var params []models.CapabilityStatementRestResourceSearchParam
	for _, p := range append(slices.Clone(catalog.Common), t.Params...) {
		var kind models.SearchParamType
		_ = kind.UnmarshalJSON([]byte(`"` + string(p.Kind) + `"`))
		params = append(params, models.CapabilityStatementRestResourceSearchParam{Name: p.Name, Type: kind, Definition: ptr(p.Definition)})
	}
	var includes []string
	for _, inc := range t.Includes {
		includes = append(includes, t.Name+":"+inc.Name)
	}
	if len(includes) > 0 {
		includes = append(includes, t.Name+":*")
	}
	var ops []models.CapabilityStatementRestResourceOperation
	if t.Name == "Patient" {
		ops = append(ops, models.CapabilityStatementRestResourceOperation{Name: "everything", Definition: everythingDefinition,
			Documentation: ptr("The token's own member only (another patient answers 404): every record of the compartment the scopes grant, " +
				"with the organizations and practitioners they name; paged by _count.")})
	}
	return models.CapabilityStatementRestResource{
		Type:             rt,
		Operation:        ops,
		SupportedProfile: t.Profiles,
		Interaction: []models.CapabilityStatementRestResourceInteraction{
			{Code: models.TypeRestfulInteractionRead}, {Code: models.TypeRestfulInteractionSearchType},
		},
		SearchInclude: includes,
		SearchParam:   params,
	}
}

func ptr[T any](v T) *T { return &v }

func (h *Handler) serveMetadata(w http.ResponseWriter, r *http.Request) {
	body, err := json.Marshal(h.capabilityStatement())
	if err != nil {
		h.logger().ErrorContext(r.Context(), "encode CapabilityStatement", "err", fmt.Errorf("fhir: %w", err))
		writeOutcome(w, http.StatusInternalServerError, "exception", "")
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(body)
}
